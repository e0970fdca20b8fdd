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
	if q.AssistantID != nil {
		if _, err := h.assistants.Load(ctx, m, *q.AssistantID); errors.Is(err, ErrNotFound) {
			return Result{}, fmt.Errorf("assistant %s: %w", *q.AssistantID, ErrAssistantNotFound)
		} else if err != nil {
			return Result{}, err
		}
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
