// Package pgstore is the PostgreSQL event store: streams with optimistic
// concurrency, idempotent appends, a global log no reader can skip, and live
// tailing woken by LISTEN/NOTIFY.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/domain/event"
)

// channel is the NOTIFY channel appends signal on; the payload is the
// committing transaction id.
const channel = "companin_events"

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool

	listenOnce sync.Once
	wake       *broadcaster
	stop       context.CancelFunc
	stopped    context.Context
}

// New returns a store over pool. The schema comes from the migrations package.
func New(pool *pgxpool.Pool) *Store {
	if pool == nil {
		panic("pgstore: nil pool")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Store{pool: pool, wake: newBroadcaster(), stop: cancel, stopped: ctx}
}

// Close stops the notification listener. The pool stays open: it belongs to
// the caller.
func (s *Store) Close() { s.stop() }

// Append writes events to stream atomically if the stream satisfies expected.
// Re-appending events whose ids are already stored in that stream, with the
// same types, is a success that writes nothing: that is how client retries
// stay single.
func (s *Store) Append(ctx context.Context, stream string, expected event.StreamState, events []event.Event) (event.AppendResult, error) {
	if len(events) == 0 {
		return event.AppendResult{}, fmt.Errorf("append to %s: no events", stream)
	}
	if stream == "" {
		return event.AppendResult{}, errors.New("append: empty stream id")
	}
	for attempt := 0; ; attempt++ {
		res, err := s.tryAppend(ctx, stream, expected, events)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			return res, err
		}
		// A concurrent writer won a race on a unique index.
		switch pgErr.ConstraintName {
		case "events_event_id":
			// The same events were appended concurrently (a retry racing
			// the original): the next attempt recognises them.
		case "events_stream_version":
			if !event.IsAny(expected) {
				cur, _ := s.streamVersion(ctx, stream)
				return event.AppendResult{}, &event.ConflictError{Stream: stream, Expected: expected, Actual: cur}
			}
		}
		if attempt >= 20 {
			return event.AppendResult{}, fmt.Errorf("append to %s: gave up after %d races: %w", stream, attempt, err)
		}
	}
}

func (s *Store) streamVersion(ctx context.Context, stream string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1`, stream).Scan(&v)
	return v, err
}

// ReadStream returns up to limit events of stream with version >= from, in
// version order. A missing stream is an empty result, not an error.
func (s *Store) ReadStream(ctx context.Context, stream string, from int64, limit int) ([]event.Event, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.pool.Query(ctx, selectEvents+`
		WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3`, stream, from, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	return evs, nil
}

// ReadAll returns up to limit events after position from, in global order.
// Only transactions older than every running transaction are visible, so a
// later call can never find an event before one this call returned.
func (s *Store) ReadAll(ctx context.Context, from event.Position, limit int) ([]event.Event, error) {
	rows, err := s.pool.Query(ctx, selectEvents+`
		WHERE (transaction_id, sequence) > ($1::text::xid8, $2)
		  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id, sequence LIMIT $3`,
		strconv.FormatUint(from.Commit, 10), int64(from.Prepare), limit)
	if err != nil {
		return nil, fmt.Errorf("read all from %s: %w", from, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read all from %s: %w", from, err)
	}
	return evs, nil
}

const selectEvents = `
	SELECT event_id, stream_id, version, transaction_id::text::bigint, sequence, event_type,
		schema_version, organization_id, correlation_id, causation_id, recorded_at, data, metadata
	FROM events`

func scanEvents(rows pgx.Rows) ([]event.Event, error) {
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var (
			e                event.Event
			txid, seq        int64
			org, corr, cause *uuid.UUID
			data, meta       []byte
		)
		if err := rows.Scan(&e.ID, &e.Stream, &e.Version, &txid, &seq, &e.Type, &e.SchemaVersion,
			&org, &corr, &cause, &e.Time, &data, &meta); err != nil {
			return nil, err
		}
		e.Position = event.Position{Commit: uint64(txid), Prepare: uint64(seq)}
		e.OrganizationID, e.CorrelationID, e.CausationID = deref(org), deref(corr), deref(cause)
		e.Time = e.Time.UTC()
		e.Data = data
		if len(meta) > 2 {
			if err := json.Unmarshal(meta, &e.Metadata); err != nil {
				return nil, fmt.Errorf("event %s metadata: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func nullable(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func deref(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
