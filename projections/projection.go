// Package projections builds the PostgreSQL read models from the event log
// and answers queries on them. Each projection keeps its own checkpoint in
// the same transaction as its rows, so applying an event twice (a redelivery
// after a crash) has no effect, and any projection can be rebuilt by
// replaying the log into empty tables.
package projections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/domain/event"
)

// CheckpointChannel is the NOTIFY channel projections announce progress on;
// the payload is "name position".
const CheckpointChannel = "companin_checkpoints"

// handler writes one event's effect on a read model inside tx. It returns
// false when the event does not concern the projection.
type handler func(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error)

// Projection is one named read model builder.
type Projection struct {
	name   string
	pool   *pgxpool.Pool
	codec  *event.Codec
	handle handler
	tables []string
}

// Name is the projection's consumer identity and checkpoint key. Renaming a
// projection rebuilds it from the start of the log.
func (p *Projection) Name() string { return p.name }

// Apply projects e exactly once: it is skipped when the checkpoint is
// already at or past it.
func (p *Projection) Apply(ctx context.Context, e event.Event) error {
	payload, err := p.codec.Decode(e)
	if errors.Is(err, event.ErrUnknownKind) {
		payload = nil // another part of the system's event: only move the checkpoint
	} else if err != nil {
		return fmt.Errorf("projection %s: %w", p.name, err)
	}
	err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var commit, prepare int64
		err := tx.QueryRow(ctx, `
			INSERT INTO checkpoints (consumer) VALUES ($1)
			ON CONFLICT (consumer) DO UPDATE SET consumer = excluded.consumer
			RETURNING transaction_id::text::bigint, sequence`, p.name).Scan(&commit, &prepare)
		if err != nil {
			return fmt.Errorf("lock checkpoint: %w", err)
		}
		if !(event.Position{Commit: uint64(commit), Prepare: uint64(prepare)}).Less(e.Position) {
			return nil // already applied
		}
		if payload != nil {
			if _, err := p.handle(ctx, tx, e, payload); err != nil {
				return fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
			}
		}
		if _, err := tx.Exec(ctx, `
			UPDATE checkpoints SET transaction_id = $2::text::xid8, sequence = $3, updated_at = now()
			WHERE consumer = $1`, p.name, strconv.FormatUint(e.Position.Commit, 10), int64(e.Position.Prepare)); err != nil {
			return fmt.Errorf("save checkpoint: %w", err)
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, CheckpointChannel, p.name+" "+e.Position.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("projection %s: %w", p.name, err)
	}
	return nil
}

// Reset empties the projection's tables and checkpoint, so the next run
// rebuilds it from the start of the log.
func (p *Projection) Reset(ctx context.Context) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for _, t := range p.tables {
			if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{t}.Sanitize()); err != nil {
				return fmt.Errorf("reset %s: %w", t, err)
			}
		}
		_, err := tx.Exec(ctx, `DELETE FROM checkpoints WHERE consumer = $1`, p.name)
		return err
	})
}

// All returns every projection, wired to pool and codec.
func All(pool *pgxpool.Pool, codec *event.Codec) []*Projection {
	mk := func(name string, h handler, tables ...string) *Projection {
		return &Projection{name: name, pool: pool, codec: codec, handle: h, tables: tables}
	}
	return []*Projection{
		mk(Accounts, projectAccounts, "organizations", "api_clients"),
		mk(Assistants, projectAssistants, "assistants"),
		mk(Threads, projectThreads, "threads", "messages"),
		mk(Contexts, projectContexts, "user_contexts"),
		mk(Knowledge, projectKnowledge, "knowledge_items", "knowledge_chunks", "knowledge_versions"),
		mk(Widgets, projectWidgets, "widget_configs"),
	}
}

// Projection names. They are consumer identities stored in checkpoints.
const (
	Accounts   = "projection.accounts"
	Assistants = "projection.assistants"
	Threads    = "projection.threads"
	Contexts   = "projection.contexts"
	Knowledge  = "projection.knowledge"
	Widgets    = "projection.widgets"
)

// ByName returns the projection called name, or nil.
func ByName(pool *pgxpool.Pool, codec *event.Codec, name string) *Projection {
	for _, p := range All(pool, codec) {
		if p.name == name {
			return p
		}
	}
	return nil
}

// Log is the global log as catching up needs it.
type Log interface {
	ReadAll(ctx context.Context, from event.Position, limit int) ([]event.Event, error)
}

// CatchUp applies the log to p from its checkpoint until it has passed
// position until (or the log is exhausted).
func CatchUp(ctx context.Context, log Log, p *Projection, until event.Position) error {
	var commit, prepare int64
	err := p.pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, sequence FROM checkpoints WHERE consumer = $1`,
		p.name).Scan(&commit, &prepare)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	pos := event.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
	for pos.Less(until) {
		evs, err := log.ReadAll(ctx, pos, 500)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			// until is committed but an older transaction still hides it.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		for _, e := range evs {
			if err := p.Apply(ctx, e); err != nil {
				return err
			}
			pos = e.Position
		}
	}
	return nil
}
