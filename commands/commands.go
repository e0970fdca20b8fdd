// Package commands turns intentions into events: each handler loads an
// aggregate from its stream, lets the domain decide, and appends the result
// with the version it loaded, retrying when another writer got there first.
package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
)

// EventStore is what commands need of the event store.
type EventStore interface {
	Append(ctx context.Context, stream string, expected event.StreamState, events []event.Event) (event.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from int64, limit int) ([]event.Event, error)
}

// ErrNotFound is returned when the target of a command does not exist for
// the calling organization (another tenant's ids are not found either).
var ErrNotFound = errors.New("not found")

// Meta is the envelope context a command runs in.
type Meta struct {
	OrganizationID uuid.UUID
	CorrelationID  uuid.UUID
	CausationID    uuid.UUID
	// IdempotencyKey makes ids and event ids deterministic, so a retried
	// request is recognised instead of acted on twice.
	IdempotencyKey string
	// Actor says who issued the command (api client id, "widget", "worker").
	Actor string
}

// Result tells where a command's events landed.
type Result struct {
	ID       uuid.UUID
	Version  int64
	Position event.Position
	// Replayed is true when an idempotent retry found its events stored.
	Replayed bool
}

var idSpace = uuid.MustParse("0c6b3c5e-7d1e-4b8f-9a2d-5e4f3a2b1c0d")

// NewID returns the id for a new resource of kind: derived from the
// idempotency key when there is one, random otherwise.
func NewID(m Meta, kind string) uuid.UUID {
	if m.IdempotencyKey == "" {
		return uuid.New()
	}
	return uuid.NewSHA1(idSpace, []byte(m.OrganizationID.String()+"\x00"+kind+"\x00"+m.IdempotencyKey))
}

// aggregate is what every domain aggregate offers to the repository.
type aggregate interface {
	Apply(event.Payload)
	Loaded(version int64)
	Version() int64
	Changes() []event.Payload
}

// repo loads and saves aggregates.
type repo struct {
	store EventStore
	codec *event.Codec
	now   func() time.Time
}

func newRepo(store EventStore, codec *event.Codec, now func() time.Time) repo {
	if store == nil || codec == nil {
		panic("commands: nil dependency")
	}
	if now == nil {
		now = time.Now
	}
	return repo{store: store, codec: codec, now: now}
}

// loaded is what load learned besides the aggregate state.
type loaded struct {
	exists bool
	ids    map[uuid.UUID]event.Event
}

// load folds stream into a. A stream owned by another organization loads
// as empty: tenants cannot see, or write to, each other's streams.
func (r repo) load(ctx context.Context, m Meta, stream string, a aggregate) (loaded, error) {
	evs, err := r.store.ReadStream(ctx, stream, 1, 0)
	if err != nil {
		return loaded{}, fmt.Errorf("load %s: %w", stream, err)
	}
	l := loaded{ids: make(map[uuid.UUID]event.Event, len(evs))}
	if len(evs) == 0 {
		return l, nil
	}
	if m.OrganizationID != uuid.Nil && evs[0].OrganizationID != m.OrganizationID {
		return loaded{ids: map[uuid.UUID]event.Event{}}, ErrNotFound
	}
	for _, e := range evs {
		p, err := r.codec.Decode(e)
		if err != nil {
			return loaded{}, fmt.Errorf("load %s: %w", stream, err)
		}
		a.Apply(p)
		a.Loaded(e.Version)
		l.ids[e.ID] = e
	}
	l.exists = true
	return l, nil
}

// eventID returns the id of the i-th event a command appends to stream.
func eventID(m Meta, stream string, i int) uuid.UUID {
	if m.IdempotencyKey == "" {
		return uuid.New()
	}
	return uuid.NewSHA1(idSpace, fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d", m.OrganizationID, m.IdempotencyKey, stream, i))
}

// execute runs one command against stream: load into a fresh aggregate,
// decide, append at the loaded version; on a version conflict, again.
// decide sees whether the stream existed. An idempotent retry whose events
// are already stored returns them without deciding again.
func (r repo) execute(ctx context.Context, m Meta, stream string, fresh func() aggregate, decide func(a aggregate, exists bool) error) (Result, error) {
	const attempts = 10
	for attempt := 1; ; attempt++ {
		a := fresh()
		l, err := r.load(ctx, m, stream, a)
		if err != nil {
			return Result{}, err
		}
		if m.IdempotencyKey != "" {
			if e, ok := l.ids[eventID(m, stream, 0)]; ok {
				return Result{Version: a.Version(), Position: e.Position, Replayed: true}, nil
			}
		}
		if err := decide(a, l.exists); err != nil {
			return Result{}, err
		}
		changes := a.Changes()
		if len(changes) == 0 {
			return Result{Version: a.Version()}, nil
		}
		evs, err := r.envelope(m, stream, changes)
		if err != nil {
			return Result{}, err
		}
		expected := event.Exact(a.Version())
		if a.Version() == 0 {
			expected = event.NoStream()
		}
		res, err := r.store.Append(ctx, stream, expected, evs)
		if errors.Is(err, event.ErrConflict) && attempt < attempts {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		return Result{Version: res.Version, Position: res.Position}, nil
	}
}

func (r repo) envelope(m Meta, stream string, changes []event.Payload) ([]event.Event, error) {
	now := r.now().UTC()
	evs := make([]event.Event, len(changes))
	for i, p := range changes {
		typ, schema, data, err := r.codec.Encode(p)
		if err != nil {
			return nil, err
		}
		id := eventID(m, stream, i)
		corr := m.CorrelationID
		if corr == uuid.Nil {
			corr = id
		}
		meta := map[string]string{}
		if m.Actor != "" {
			meta["actor"] = m.Actor
		}
		evs[i] = event.Event{
			ID: id, Type: typ, SchemaVersion: schema, Data: data, Time: now,
			OrganizationID: m.OrganizationID, CorrelationID: corr, CausationID: m.CausationID,
			Metadata: meta,
		}
	}
	return evs, nil
}
