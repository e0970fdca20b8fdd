package commands

import (
	"context"
	"time"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/usercontext"
)

// Contexts handles user context commands. Contexts are addressed by the
// organization's own user reference.
type Contexts struct{ repo repo }

// NewContexts returns the user context command handlers.
func NewContexts(store EventStore, codec *event.Codec, now func() time.Time) *Contexts {
	return &Contexts{repo: newRepo(store, codec, now)}
}

func freshContext() aggregate { return &usercontext.Context{} }

// Create records a context for ref.
func (h *Contexts) Create(ctx context.Context, m Meta, ref string, traits map[string]any) (Result, error) {
	id := usercontext.ID(m.OrganizationID, ref)
	res, err := h.repo.execute(ctx, m, usercontext.Stream(id), freshContext, func(a aggregate, _ bool) error {
		return a.(*usercontext.Context).Create(ref, traits)
	})
	res.ID = id
	return res, err
}

// Merge applies a JSON merge patch to the traits of ref.
func (h *Contexts) Merge(ctx context.Context, m Meta, ref string, patch map[string]any) (Result, error) {
	id := usercontext.ID(m.OrganizationID, ref)
	res, err := h.repo.execute(ctx, m, usercontext.Stream(id), freshContext, func(a aggregate, _ bool) error {
		c := a.(*usercontext.Context)
		if !c.Exists() {
			return ErrNotFound
		}
		return c.Merge(patch)
	})
	res.ID = id
	return res, err
}

// Erase forgets the context of ref.
func (h *Contexts) Erase(ctx context.Context, m Meta, ref string) (Result, error) {
	id := usercontext.ID(m.OrganizationID, ref)
	res, err := h.repo.execute(ctx, m, usercontext.Stream(id), freshContext, func(a aggregate, _ bool) error {
		c := a.(*usercontext.Context)
		if !c.Exists() {
			return ErrNotFound
		}
		return c.Erase()
	})
	res.ID = id
	return res, err
}
