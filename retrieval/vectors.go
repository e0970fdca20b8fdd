package retrieval

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/projections"
)

// orgIndex holds one organization's passage vectors for one model.
type orgIndex struct {
	model      string
	version    int64
	dims       int
	ids        []uuid.UUID
	assistants []uuid.UUID // uuid.Nil: the passage serves every assistant
	vecs       []float32   // len(ids) * dims, row-major
}

// vectorSearch ranks the organization's passages by cosine similarity to
// the question (vectors are normalised, so a dot product).
func (e *Engine) vectorSearch(ctx context.Context, q Query, n int) ([]projections.Hit, error) {
	if err := e.EnsureEmbeddings(ctx, q.Org); err != nil {
		return nil, err
	}
	idx, err := e.index(ctx, q.Org)
	if err != nil {
		return nil, err
	}
	if len(idx.ids) == 0 || q.Text == "" {
		return []projections.Hit{}, nil
	}
	qv, err := e.embedder.Embed(ctx, []string{q.Text})
	if err != nil {
		return nil, fmt.Errorf("embed question: %w", err)
	}
	v := qv[0]
	if len(v) != idx.dims {
		return nil, fmt.Errorf("question vector has %d dims, index %d", len(v), idx.dims)
	}
	normalize(v)
	top := &minHeap{}
	for i := range idx.ids {
		if q.Assistant != nil && idx.assistants[i] != uuid.Nil && idx.assistants[i] != *q.Assistant {
			continue
		}
		row := idx.vecs[i*idx.dims : (i+1)*idx.dims]
		var s float32
		for j, x := range row {
			s += x * v[j]
		}
		if top.Len() < n {
			heap.Push(top, scored{i, s})
		} else if s > (*top)[0].score {
			(*top)[0] = scored{i, s}
			heap.Fix(top, 0)
		}
	}
	ranked := make([]scored, top.Len())
	for i := len(ranked) - 1; i >= 0; i-- {
		ranked[i] = heap.Pop(top).(scored)
	}
	ids := make([]uuid.UUID, len(ranked))
	for i, r := range ranked {
		ids[i] = idx.ids[r.i]
	}
	rows, err := e.queries.Chunks(ctx, q.Org, ids)
	if err != nil {
		return nil, err
	}
	hits := make([]projections.Hit, 0, len(ranked))
	for _, r := range ranked {
		h, ok := rows[idx.ids[r.i]]
		if !ok {
			continue // removed since the index was loaded
		}
		h.Similarity = float64(r.score)
		h.Score = h.Similarity
		hits = append(hits, h)
	}
	return hits, nil
}

// index returns the organization's vector index, reloading it when the
// organization's passages or vectors changed since it was loaded.
func (e *Engine) index(ctx context.Context, org uuid.UUID) (*orgIndex, error) {
	var version int64
	err := e.pool.QueryRow(ctx, `SELECT version FROM knowledge_versions WHERE organization_id = $1`, org).Scan(&version)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	model := e.embedder.Model()
	e.mu.Lock()
	cur := e.indexes[org]
	e.mu.Unlock()
	if cur != nil && cur.version == version && cur.model == model {
		return cur, nil
	}
	idx := &orgIndex{model: model, version: version}
	rows, err := e.pool.Query(ctx, `
		SELECT c.id, c.assistant_id, em.dims, em.vector
		FROM knowledge_chunks c
		JOIN embeddings em ON em.model = $2 AND em.text_sha256 = c.embed_sha256
		WHERE c.organization_id = $1`, org, model)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var asst *uuid.UUID
		var dims int
		var raw []byte
		if err := rows.Scan(&id, &asst, &dims, &raw); err != nil {
			return nil, err
		}
		if idx.dims == 0 {
			idx.dims = dims
		}
		if dims != idx.dims || len(raw) != 4*dims {
			continue // a vector of another shape: ignore rather than corrupt the index
		}
		idx.ids = append(idx.ids, id)
		a := uuid.Nil
		if asst != nil {
			a = *asst
		}
		idx.assistants = append(idx.assistants, a)
		idx.vecs = append(idx.vecs, decode(raw)...)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.indexes[org] = idx
	e.mu.Unlock()
	return idx, nil
}

// EnsureEmbeddings computes the vectors the organization's passages lack
// for the current model. Replies call it before searching, so knowledge
// added before a question is in the vector side of its search too.
func (e *Engine) EnsureEmbeddings(ctx context.Context, org uuid.UUID) error {
	model := e.embedder.Model()
	for {
		rows, err := e.pool.Query(ctx, `
			SELECT DISTINCT ON (c.embed_sha256) c.title, c.heading, c.body
			FROM knowledge_chunks c
			LEFT JOIN embeddings em ON em.model = $2 AND em.text_sha256 = c.embed_sha256
			WHERE c.organization_id = $1 AND em.text_sha256 IS NULL
			LIMIT 64`, org, model)
		if err != nil {
			return err
		}
		var texts []string
		for rows.Next() {
			var title, heading, body string
			if err := rows.Scan(&title, &heading, &body); err != nil {
				rows.Close()
				return err
			}
			texts = append(texts, knowledge.EmbeddingText(title, heading, body))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(texts) == 0 {
			return nil
		}
		if err := e.Store(ctx, texts); err != nil {
			return err
		}
		if _, err := e.pool.Exec(ctx, `INSERT INTO knowledge_versions (organization_id, version) VALUES ($1, 1)
			ON CONFLICT (organization_id) DO UPDATE SET version = knowledge_versions.version + 1`, org); err != nil {
			return err
		}
	}
}

// Store embeds texts and caches the vectors by (model, text hash).
func (e *Engine) Store(ctx context.Context, texts []string) error {
	vecs, err := e.embedder.Embed(ctx, texts)
	if err != nil {
		return fmt.Errorf("embed %d passages: %w", len(texts), err)
	}
	if len(vecs) != len(texts) {
		return fmt.Errorf("embedder returned %d vectors for %d texts", len(vecs), len(texts))
	}
	model := e.embedder.Model()
	batch := &pgx.Batch{}
	for i, t := range texts {
		sum := sha256.Sum256([]byte(t))
		v := vecs[i]
		normalize(v)
		batch.Queue(`INSERT INTO embeddings (model, text_sha256, dims, vector) VALUES ($1, $2, $3, $4)
			ON CONFLICT (model, text_sha256) DO NOTHING`, model, sum[:], len(v), encode(v))
	}
	if err := e.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("store embeddings: %w", err)
	}
	return nil
}

func normalize(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
}

func encode(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decode(b []byte) []float32 {
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

type scored struct {
	i     int
	score float32
}

// minHeap keeps the best n scores with the worst on top.
type minHeap []scored

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].score < h[j].score }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(scored)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
