package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/widgetconfig"
)

// WidgetConfigs handles widget config commands.
type WidgetConfigs struct{ repo repo }

// NewWidgetConfigs returns the widget config command handlers.
func NewWidgetConfigs(store EventStore, codec *event.Codec, now func() time.Time) *WidgetConfigs {
	return &WidgetConfigs{repo: newRepo(store, codec, now)}
}

func freshWidgetConfig() aggregate { return &widgetconfig.Config{} }

// Create records a config with id.
func (h *WidgetConfigs) Create(ctx context.Context, m Meta, id uuid.UUID, s widgetconfig.Spec) (Result, error) {
	res, err := h.repo.execute(ctx, m, widgetconfig.Stream(id), freshWidgetConfig, func(a aggregate, _ bool) error {
		return a.(*widgetconfig.Config).Create(s)
	})
	res.ID = id
	return res, err
}

// Update changes config id with patch applied to its current spec.
func (h *WidgetConfigs) Update(ctx context.Context, m Meta, id uuid.UUID, patch func(*widgetconfig.Spec)) (Result, error) {
	res, err := h.repo.execute(ctx, m, widgetconfig.Stream(id), freshWidgetConfig, func(a aggregate, _ bool) error {
		c := a.(*widgetconfig.Config)
		if !c.Exists() {
			return ErrNotFound
		}
		s := c.Spec()
		patch(&s)
		return c.Replace(s)
	})
	res.ID = id
	return res, err
}

// Delete retires config id.
func (h *WidgetConfigs) Delete(ctx context.Context, m Meta, id uuid.UUID) (Result, error) {
	res, err := h.repo.execute(ctx, m, widgetconfig.Stream(id), freshWidgetConfig, func(a aggregate, _ bool) error {
		c := a.(*widgetconfig.Config)
		if !c.Exists() {
			return ErrNotFound
		}
		c.Delete()
		return nil
	})
	res.ID = id
	return res, err
}
