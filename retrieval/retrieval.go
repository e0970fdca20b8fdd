// Package retrieval finds the knowledge passages that answer a question:
// PostgreSQL full-text search fused with vector similarity by reciprocal
// rank fusion, always filtered by organization (and assistant) inside the
// queries. Vectors are a cache keyed by (model, text); an in-process index
// per organization is searched by brute force and reloaded when the
// organization's passages change.
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

// rrfK damps the weight of top ranks in reciprocal rank fusion; 60 is the
// value of the original paper and works well without tuning.
const rrfK = 60

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
	var fts, vec []projections.Hit
	var err error
	if q.Mode != Vector {
		fts, err = e.queries.Search(ctx, q.Org, q.Assistant, q.Lang, q.Text, candidates)
		if err != nil {
			return nil, fmt.Errorf("full-text search: %w", err)
		}
		if q.Mode == FullText {
			return head(fts, limit), nil
		}
	}
	vec, err = e.vectorSearch(ctx, q, candidates)
	if err != nil && q.Mode == Hybrid && ctx.Err() == nil {
		// An embedding model that is down must not stop answers: full-text
		// results alone are still grounded.
		slog.WarnContext(ctx, "vector search failed, using full-text results only", "err", err)
		return head(fts, limit), nil
	}
	if err != nil {
		return nil, fmt.Errorf("vector search: %w", err)
	}
	if q.Mode == Vector {
		return head(vec, limit), nil
	}
	return head(fuse(fts, vec), limit), nil
}

// fuse merges two rankings by reciprocal rank fusion, keeping each hit's
// full-text coverage and vector similarity.
func fuse(fts, vec []projections.Hit) []projections.Hit {
	byID := map[uuid.UUID]*projections.Hit{}
	var order []uuid.UUID
	for rank, h := range fts {
		h := h
		h.Score = 1.0 / float64(rrfK+rank+1)
		byID[h.ChunkID] = &h
		order = append(order, h.ChunkID)
	}
	for rank, h := range vec {
		if cur, ok := byID[h.ChunkID]; ok {
			cur.Score += 1.0 / float64(rrfK+rank+1)
			cur.Similarity = h.Similarity
			continue
		}
		h := h
		h.Score = 1.0 / float64(rrfK+rank+1)
		byID[h.ChunkID] = &h
		order = append(order, h.ChunkID)
	}
	out := make([]projections.Hit, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
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

func head(h []projections.Hit, n int) []projections.Hit {
	if len(h) > n {
		return h[:n]
	}
	return h
}
