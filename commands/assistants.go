package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/event"
)

// Assistants handles assistant commands.
type Assistants struct{ repo repo }

// NewAssistants returns the assistant command handlers.
func NewAssistants(store EventStore, codec *event.Codec, now func() time.Time) *Assistants {
	return &Assistants{repo: newRepo(store, codec, now)}
}

func freshAssistant() aggregate { return &assistant.Assistant{} }

// Create records a new assistant with id.
func (h *Assistants) Create(ctx context.Context, m Meta, id uuid.UUID, spec assistant.Spec) (Result, error) {
	res, err := h.repo.execute(ctx, m, assistant.Stream(id), freshAssistant, func(a aggregate, _ bool) error {
		return a.(*assistant.Assistant).Create(spec)
	})
	res.ID = id
	return res, err
}

// Update patches assistant id.
func (h *Assistants) Update(ctx context.Context, m Meta, id uuid.UUID, p assistant.Patch) (Result, error) {
	res, err := h.repo.execute(ctx, m, assistant.Stream(id), freshAssistant, func(a aggregate, _ bool) error {
		as := a.(*assistant.Assistant)
		if !as.Exists() {
			return ErrNotFound
		}
		return as.Update(p)
	})
	res.ID = id
	return res, err
}

// Delete retires assistant id.
func (h *Assistants) Delete(ctx context.Context, m Meta, id uuid.UUID) (Result, error) {
	res, err := h.repo.execute(ctx, m, assistant.Stream(id), freshAssistant, func(a aggregate, _ bool) error {
		as := a.(*assistant.Assistant)
		if !as.Exists() {
			return ErrNotFound
		}
		as.Delete()
		return nil
	})
	res.ID = id
	return res, err
}

// Load returns assistant id as the event store has it (not the read model),
// for decisions that must not act on a stale view.
func (h *Assistants) Load(ctx context.Context, m Meta, id uuid.UUID) (*assistant.Assistant, error) {
	a := &assistant.Assistant{}
	l, err := h.repo.load(ctx, m, assistant.Stream(id), a)
	if err != nil {
		return nil, err
	}
	if !l.exists {
		return nil, ErrNotFound
	}
	return a, nil
}
