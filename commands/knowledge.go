package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
)

// Knowledge handles knowledge item commands.
type Knowledge struct {
	repo       repo
	assistants *Assistants
}

// NewKnowledge returns the knowledge command handlers.
func NewKnowledge(store EventStore, codec *event.Codec, now func() time.Time) *Knowledge {
	return &Knowledge{repo: newRepo(store, codec, now), assistants: NewAssistants(store, codec, now)}
}

// AddQA records a Q&A pair with id.
func (h *Knowledge) AddQA(ctx context.Context, m Meta, id uuid.UUID, q knowledge.QA) (Result, error) {
	if err := h.checkAssistant(ctx, m, q.AssistantID); err != nil {
		return Result{}, err
	}
	res, err := h.repo.execute(ctx, m, knowledge.Stream(id), func() aggregate { return knowledge.New(id) },
		func(a aggregate, _ bool) error { return a.(*knowledge.Item).AddQA(q) })
	res.ID = id
	return res, err
}

// Remove takes item id out of retrieval.
func (h *Knowledge) Remove(ctx context.Context, m Meta, id uuid.UUID) (Result, error) {
	res, err := h.repo.execute(ctx, m, knowledge.Stream(id), func() aggregate { return knowledge.New(id) },
		func(a aggregate, _ bool) error {
			it := a.(*knowledge.Item)
			if !it.Exists() {
				return ErrNotFound
			}
			return it.Remove()
		})
	res.ID = id
	return res, err
}

// AddFile records an uploaded file (its bytes already in the blob store).
func (h *Knowledge) AddFile(ctx context.Context, m Meta, id uuid.UUID, f knowledge.File) (Result, error) {
	if err := h.checkAssistant(ctx, m, f.AssistantID); err != nil {
		return Result{}, err
	}
	res, err := h.repo.execute(ctx, m, knowledge.Stream(id), func() aggregate { return knowledge.New(id) },
		func(a aggregate, _ bool) error { return a.(*knowledge.Item).AddFile(f) })
	res.ID = id
	return res, err
}

// AddURL records a web page to fetch and index.
func (h *Knowledge) AddURL(ctx context.Context, m Meta, id uuid.UUID, rawURL, title string, tags []string, assistantID *uuid.UUID) (Result, error) {
	if err := h.checkAssistant(ctx, m, assistantID); err != nil {
		return Result{}, err
	}
	res, err := h.repo.execute(ctx, m, knowledge.Stream(id), func() aggregate { return knowledge.New(id) },
		func(a aggregate, _ bool) error { return a.(*knowledge.Item).AddURL(rawURL, title, tags, assistantID) })
	res.ID = id
	return res, err
}

// Refresh asks for a web page item to be fetched again.
func (h *Knowledge) Refresh(ctx context.Context, m Meta, id uuid.UUID) (Result, error) {
	res, err := h.repo.execute(ctx, m, knowledge.Stream(id), func() aggregate { return knowledge.New(id) },
		func(a aggregate, _ bool) error {
			it := a.(*knowledge.Item)
			if !it.Exists() {
				return ErrNotFound
			}
			return it.RequestRefresh()
		})
	res.ID = id
	return res, err
}

// Load returns item id as the event store has it.
func (h *Knowledge) Load(ctx context.Context, m Meta, id uuid.UUID) (*knowledge.Item, error) {
	it := knowledge.New(id)
	l, err := h.repo.load(ctx, m, knowledge.Stream(id), it)
	if err != nil {
		return nil, err
	}
	if !l.exists || !it.Exists() {
		return nil, ErrNotFound
	}
	return it, nil
}

// Index records the outcome of indexing attempt attempt of item id: its
// passages, or (when failure is not empty) why it failed. A result for an
// outdated attempt is dropped.
func (h *Knowledge) Index(ctx context.Context, m Meta, id uuid.UUID, attempt int, language, title string, sections []knowledge.Section, failure string) (Result, error) {
	m.IdempotencyKey = fmt.Sprintf("index:%s:%d", id, attempt)
	res, err := h.repo.execute(ctx, m, knowledge.Stream(id), func() aggregate { return knowledge.New(id) },
		func(a aggregate, _ bool) error {
			it := a.(*knowledge.Item)
			if failure != "" {
				return it.FailIndexing(attempt, failure)
			}
			return it.Index(attempt, language, title, sections)
		})
	if errors.Is(err, knowledge.ErrStale) || errors.Is(err, knowledge.ErrRemoved) {
		return Result{ID: id, Replayed: true}, nil
	}
	res.ID = id
	return res, err
}

func (h *Knowledge) checkAssistant(ctx context.Context, m Meta, id *uuid.UUID) error {
	if id == nil {
		return nil
	}
	if _, err := h.assistants.Load(ctx, m, *id); errors.Is(err, ErrNotFound) {
		return fmt.Errorf("assistant %s: %w", *id, ErrAssistantNotFound)
	} else if err != nil {
		return err
	}
	return nil
}
