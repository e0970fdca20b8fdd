// Package retrieval finds the knowledge passages that answer a question:
// PostgreSQL full-text search fused with vector similarity, always filtered
// by organization (and assistant) inside the queries. Vectors are a cache
// keyed by (model, text); an in-process index per organization is searched
// by brute force and reloaded when the organization's passages change.
//
// Fusion is a weighted sum of the two absolute scores each passage has:
// the share of the question's words it contains (coverage) and the cosine
// similarity of the vectors. Both are 0..1 on every question, so unlike
// reciprocal rank fusion the sum keeps how strong each match is, not only
// its rank; `companin eval` measures the difference.
package retrieval

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/projections"
)

// Embedder turns texts into vectors of one model.
type Embedder interface {
	Model() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Mode selects the retrieval method; Hybrid is what replies use, the others
// exist to measure it.
type Mode int

const (
	Hybrid Mode = iota
	FullText
	Vector
)

// ParseMode reads "hybrid", "fulltext" or "vector".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "hybrid":
		return Hybrid, nil
	case "fulltext", "fts":
		return FullText, nil
	case "vector":
		return Vector, nil
	}
	return 0, fmt.Errorf("unknown retrieval mode %q", s)
}

// Query is one search.
type Query struct {
	Org       uuid.UUID
	Assistant *uuid.UUID
	Lang      string
	Text      string
	Limit     int
	Mode      Mode
}

// coverageWeight is the share of full-text coverage in a hybrid score,
// the rest being vector similarity. Coverage comes in coarse steps (1 of 3
// words, 2 of 3...) and ignores how rare a word is, while similarity is
// fine-grained; on both benchmark sets (StackFAQ and our own) 0.15 to 0.25
// did best, 0.5 (equal say) clearly worse.
const coverageWeight = 0.2

// candidates is how many results each method contributes to fusion.
const candidates = 50

// Engine searches knowledge. It is safe for concurrent use.
type Engine struct {
	pool     *pgxpool.Pool
	queries  *projections.Queries
	embedder Embedder

	mu      sync.Mutex
	indexes map[uuid.UUID]*orgIndex
}

// New returns an engine.
func New(pool *pgxpool.Pool, queries *projections.Queries, embedder Embedder) *Engine {
	if pool == nil || queries == nil || embedder == nil {
		panic("retrieval: nil dependency")
	}
	return &Engine{pool: pool, queries: queries, embedder: embedder, indexes: map[uuid.UUID]*orgIndex{}}
}

// Embedder returns the engine's embedder.
func (e *Engine) Embedder() Embedder { return e.embedder }

// Search returns up to q.Limit passages, best first.
func (e *Engine) Search(ctx context.Context, q Query) ([]projections.Hit, error) {
	limit := q.Limit
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	switch q.Mode {
	case FullText:
		fts, err := e.queries.Search(ctx, q.Org, q.Assistant, q.Lang, q.Text, candidates)
		if err != nil {
			return nil, fmt.Errorf("full-text search: %w", err)
		}
		return head(fts, limit), nil
	case Vector:
		vs, err := e.vectorScan(ctx, q, candidates)
		if err != nil {
			return nil, fmt.Errorf("vector search: %w", err)
		}
		hits := make([]projections.Hit, len(vs.top))
		for i, s := range vs.top {
			hits[i] = projections.Hit{ChunkID: s.id, Similarity: float64(s.score), Score: float64(s.score)}
		}
		return e.complete(ctx, q.Org, head(hits, limit))
	}

	// Hybrid: the nearest passages by vector, then PostgreSQL scores their
	// words and adds passages containing every word of the question.
	vs, err := e.vectorScan(ctx, q, candidates)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("vector search: %w", err)
		}
		// An embedding model that is down must not stop answers: full-text
		// results alone are still grounded.
		slog.WarnContext(ctx, "vector search failed, using full-text results only", "err", err)
		fts, err := e.queries.Search(ctx, q.Org, q.Assistant, q.Lang, q.Text, candidates)
		if err != nil {
			return nil, fmt.Errorf("full-text search: %w", err)
		}
		return head(fts, limit), nil
	}
	ids := make([]uuid.UUID, len(vs.top))
	for i, s := range vs.top {
		ids[i] = s.id
	}
	fts, err := e.queries.SearchWithin(ctx, q.Org, q.Assistant, q.Lang, q.Text, candidates, ids)
	if err != nil {
		return nil, fmt.Errorf("full-text search: %w", err)
	}
	return e.complete(ctx, q.Org, head(fuse(fts, vs), limit))
}

// fuse scores every passage either method found by coverage and
// similarity. Full-text hits get their similarity from the index even when
// they are not among the nearest vectors; passages only the vectors found
// have no coverage (their words matched too little to be a full-text
// candidate) and no text yet: complete fetches it for the few that are kept.
func fuse(fts []projections.Hit, vs *vectorResult) []projections.Hit {
	out := make([]projections.Hit, 0, len(fts)+len(vs.top))
	seen := make(map[uuid.UUID]bool, len(fts))
	for _, h := range fts {
		if s, ok := vs.similarity(h.ChunkID); ok {
			h.Similarity = float64(s)
		}
		h.Score = coverageWeight*h.Coverage + (1-coverageWeight)*h.Similarity
		seen[h.ChunkID] = true
		out = append(out, h)
	}
	for _, s := range vs.top {
		if !seen[s.id] {
			sim := float64(s.score)
			out = append(out, projections.Hit{ChunkID: s.id, Similarity: sim, Score: (1 - coverageWeight) * sim})
		}
	}
	slices.SortStableFunc(out, func(a, b projections.Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

// complete fills in the passages of hits that have only an id, and drops
// those removed since the vector index was loaded.
func (e *Engine) complete(ctx context.Context, org uuid.UUID, hits []projections.Hit) ([]projections.Hit, error) {
	var ids []uuid.UUID
	for _, h := range hits {
		if h.KnowledgeID == uuid.Nil {
			ids = append(ids, h.ChunkID)
		}
	}
	if len(ids) == 0 {
		return hits, nil
	}
	rows, err := e.queries.Chunks(ctx, org, ids)
	if err != nil {
		return nil, err
	}
	out := hits[:0]
	for _, h := range hits {
		if h.KnowledgeID == uuid.Nil {
			r, ok := rows[h.ChunkID]
			if !ok {
				continue
			}
			r.Coverage, r.Similarity, r.Score = h.Coverage, h.Similarity, h.Score
			h = r
		}
		out = append(out, h)
	}
	return out, nil
}

func head(h []projections.Hit, n int) []projections.Hit {
	if len(h) > n {
		return h[:n]
	}
	return h
}
