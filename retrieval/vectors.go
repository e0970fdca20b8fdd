package retrieval

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/companin/companin/domain/knowledge"
)

// orgIndex holds one organization's passage vectors for one model.
type orgIndex struct {
	model      string
	version    int64
	dims       int
	ids        []uuid.UUID
	pos        map[uuid.UUID]int // row of each passage
	assistants []uuid.UUID       // uuid.Nil: the passage serves every assistant
	vecs       []float32         // len(ids) * dims, row-major
}

// vectorResult is a question's vector side: the nearest passages, and the
// means to score any other passage of the index against the question.
type vectorResult struct {
	idx *orgIndex
	qv  []float32
	top []scored // best first
}

// similarity returns the cosine similarity of the question and passage id,
// and false when the index has no vector for it.
func (r *vectorResult) similarity(id uuid.UUID) (float32, bool) {
	if r.idx == nil {
		return 0, false
	}
	i, ok := r.idx.pos[id]
	if !ok {
		return 0, false
	}
	return dot(r.idx.row(i), r.qv), true
}

func (x *orgIndex) row(i int) []float32 { return x.vecs[i*x.dims : (i+1)*x.dims] }

// scanParallelRows is the index size from which a scan is split across
// processors; below it, starting goroutines costs more than it saves.
const scanParallelRows = 8192

// vectorScan ranks the organization's passages by cosine similarity to the
// question (vectors are normalised, so a dot product) and keeps the best n.
func (e *Engine) vectorScan(ctx context.Context, q Query, n int) (*vectorResult, error) {
	idx, err := e.index(ctx, q.Org)
	if err != nil {
		return nil, err
	}
	if len(idx.ids) == 0 || q.Text == "" {
		return &vectorResult{}, nil
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
	ranked := idx.nearest(v, q.Assistant, n)
	return &vectorResult{idx: idx, qv: v, top: ranked}, nil
}

// nearest returns the n passages closest to question vector v, best
// first, scanning a large index on every processor.
func (x *orgIndex) nearest(v []float32, assistant *uuid.UUID, n int) []scored {
	rows := len(x.ids)
	parts := 1
	if rows >= scanParallelRows {
		parts = min(runtime.GOMAXPROCS(0), rows/(scanParallelRows/2))
	}
	heaps := make([]minHeap, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { heaps[p] = x.scan(v, assistant, p*rows/parts, (p+1)*rows/parts, n) })
	}
	wg.Wait()
	top := heaps[0]
	for _, h := range heaps[1:] {
		for _, s := range h {
			top.offer(s, n)
		}
	}
	ranked := make([]scored, top.Len())
	for i := len(ranked) - 1; i >= 0; i-- {
		ranked[i] = heap.Pop(&top).(scored)
	}
	return ranked
}

// scan returns the best n rows of [from, to) for question vector v.
func (x *orgIndex) scan(v []float32, assistant *uuid.UUID, from, to, n int) minHeap {
	top := make(minHeap, 0, n+1)
	for i := from; i < to; i++ {
		if assistant != nil && x.assistants[i] != uuid.Nil && x.assistants[i] != *assistant {
			continue
		}
		top.offer(scored{x.ids[i], dot(x.row(i), v)}, n)
	}
	return top
}

// dot is the inner product of equally long a and b, four lanes at a time
// so the compiler keeps independent sums in registers.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// index returns the organization's vector index. Only when the
// organization's passages changed since it was loaded does it embed the
// passages that lack a vector and load the index again, so a search costs
// one version lookup besides the scan.
func (e *Engine) index(ctx context.Context, org uuid.UUID) (*orgIndex, error) {
	model := e.embedder.Model()
	for attempt := 0; ; attempt++ {
		var version int64
		err := e.pool.QueryRow(ctx, `SELECT version FROM knowledge_versions WHERE organization_id = $1`, org).Scan(&version)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		e.mu.Lock()
		cur := e.indexes[org]
		e.mu.Unlock()
		if cur != nil && cur.version == version && cur.model == model {
			return cur, nil
		}
		stored, err := e.ensure(ctx, org)
		if err != nil {
			return nil, err
		}
		if !stored || attempt > 0 {
			// Every passage had a vector at version (or got one it can
			// have): one added since has a later version, and the next
			// search embeds it.
			return e.load(ctx, org, model, version)
		}
		// Storing vectors bumped the version: look again, once.
	}
}

// load reads the organization's vectors of model into a fresh index.
func (e *Engine) load(ctx context.Context, org uuid.UUID, model string, version int64) (*orgIndex, error) {
	idx := &orgIndex{model: model, version: version, pos: map[uuid.UUID]int{}}
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
		idx.pos[id] = len(idx.ids)
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
// for the current model. Searches do it when knowledge changed, so
// knowledge added before a question is in the vector side of its search.
func (e *Engine) EnsureEmbeddings(ctx context.Context, org uuid.UUID) error {
	_, err := e.ensure(ctx, org)
	return err
}

// ensure is EnsureEmbeddings, reporting whether it stored any vector.
func (e *Engine) ensure(ctx context.Context, org uuid.UUID) (stored bool, err error) {
	model := e.embedder.Model()
	// The cursor walks the missing hashes once, so a passage whose vector
	// cannot be stored under its hash is not tried forever.
	after := []byte{}
	for {
		rows, err := e.pool.Query(ctx, `
			SELECT DISTINCT ON (c.embed_sha256) c.embed_sha256, c.title, c.heading, c.body
			FROM knowledge_chunks c
			LEFT JOIN embeddings em ON em.model = $2 AND em.text_sha256 = c.embed_sha256
			WHERE c.organization_id = $1 AND em.text_sha256 IS NULL AND c.embed_sha256 > $3
			ORDER BY c.embed_sha256
			LIMIT 64`, org, model, after)
		if err != nil {
			return stored, err
		}
		var texts []string
		for rows.Next() {
			var title, heading, body string
			if err := rows.Scan(&after, &title, &heading, &body); err != nil {
				rows.Close()
				return stored, err
			}
			texts = append(texts, knowledge.EmbeddingText(title, heading, body))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return stored, err
		}
		if len(texts) == 0 {
			return stored, nil
		}
		if err := e.Store(ctx, texts); err != nil {
			return stored, err
		}
		stored = true
		if _, err := e.pool.Exec(ctx, `INSERT INTO knowledge_versions (organization_id, version) VALUES ($1, 1)
			ON CONFLICT (organization_id) DO UPDATE SET version = knowledge_versions.version + 1`, org); err != nil {
			return stored, err
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
	id    uuid.UUID
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

// offer keeps s if it is among the best n seen.
func (h *minHeap) offer(s scored, n int) {
	if h.Len() < n {
		heap.Push(h, s)
	} else if n > 0 && s.score > (*h)[0].score {
		(*h)[0] = s
		heap.Fix(h, 0)
	}
}
