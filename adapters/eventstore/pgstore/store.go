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
	"time"

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

func (s *Store) tryAppend(ctx context.Context, stream string, expected event.StreamState, events []event.Event) (event.AppendResult, error) {
	var res event.AppendResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		done, r, err := existing(ctx, tx, stream, events)
		if err != nil || done {
			res = r
			return err
		}
		var current int64
		if err := tx.QueryRow(ctx,
			`SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1`, stream).Scan(&current); err != nil {
			return fmt.Errorf("read version of %s: %w", stream, err)
		}
		if !expected.Check(current) {
			return &event.ConflictError{Stream: stream, Expected: expected, Actual: current}
		}
		res, err = insert(ctx, tx, stream, current, events)
		if err != nil {
			return err
		}
		// Delivered at commit only, so listeners never wake for rolled-back work.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, pg_current_xact_id()::text)`, channel); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
	if err != nil {
		return event.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	return res, nil
}

// existing reports whether all events are already stored (an idempotent
// retry). Some but not all stored, or stored elsewhere, is ErrIDReuse.
func existing(ctx context.Context, tx pgx.Tx, stream string, events []event.Event) (bool, event.AppendResult, error) {
	ids := make([]uuid.UUID, len(events))
	types := make(map[uuid.UUID]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
		types[e.ID] = e.Type
	}
	rows, err := tx.Query(ctx, `
		SELECT event_id, stream_id, event_type, version, transaction_id::text::bigint, sequence
		FROM events WHERE event_id = ANY($1) ORDER BY version`, ids)
	if err != nil {
		return false, event.AppendResult{}, fmt.Errorf("look up event ids: %w", err)
	}
	defer rows.Close()
	var found int
	var res event.AppendResult
	for rows.Next() {
		var id uuid.UUID
		var st, typ string
		var version, txid, seq int64
		if err := rows.Scan(&id, &st, &typ, &version, &txid, &seq); err != nil {
			return false, event.AppendResult{}, err
		}
		if st != stream || types[id] != typ {
			return false, event.AppendResult{}, fmt.Errorf("event %s: %w", id, event.ErrIDReuse)
		}
		found++
		res = event.AppendResult{Version: version, Position: event.Position{Commit: uint64(txid), Prepare: uint64(seq)}}
	}
	if err := rows.Err(); err != nil {
		return false, event.AppendResult{}, err
	}
	switch {
	case found == 0:
		return false, event.AppendResult{}, nil
	case found < len(events):
		return false, event.AppendResult{}, fmt.Errorf("%d of %d events already stored: %w", found, len(events), event.ErrIDReuse)
	}
	return true, res, nil
}

func insert(ctx context.Context, tx pgx.Tx, stream string, current int64, events []event.Event) (event.AppendResult, error) {
	n := len(events)
	var (
		ids      = make([]uuid.UUID, n)
		versions = make([]int64, n)
		types    = make([]string, n)
		schemas  = make([]int32, n)
		orgs     = make([]*uuid.UUID, n)
		corrs    = make([]*uuid.UUID, n)
		causes   = make([]*uuid.UUID, n)
		datas    = make([]string, n)
		metas    = make([]string, n)
		times    = make([]time.Time, n)
	)
	for i, e := range events {
		if e.ID == uuid.Nil || e.Type == "" {
			return event.AppendResult{}, fmt.Errorf("event %d: id and type are required", i)
		}
		ids[i], versions[i], types[i] = e.ID, current+int64(i)+1, e.Type
		schemas[i] = int32(max(e.SchemaVersion, 1))
		orgs[i], corrs[i], causes[i] = nullable(e.OrganizationID), nullable(e.CorrelationID), nullable(e.CausationID)
		data := e.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		datas[i] = string(data)
		meta, err := json.Marshal(orEmpty(e.Metadata))
		if err != nil {
			return event.AppendResult{}, fmt.Errorf("event %d metadata: %w", i, err)
		}
		metas[i] = string(meta)
		t := e.Time
		if t.IsZero() {
			t = time.Now()
		}
		times[i] = t.UTC()
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO events (event_id, stream_id, version, event_type, schema_version,
			organization_id, correlation_id, causation_id, data, metadata, recorded_at)
		SELECT u.id, $1, u.version, u.type, u.schema, u.org, u.corr, u.cause, u.data::jsonb, u.meta::jsonb, u.at
		FROM unnest($2::uuid[], $3::bigint[], $4::text[], $5::int[], $6::uuid[], $7::uuid[], $8::uuid[],
			$9::text[], $10::text[], $11::timestamptz[])
			AS u(id, version, type, schema, org, corr, cause, data, meta, at)
		ORDER BY u.version
		RETURNING transaction_id::text::bigint, sequence`,
		stream, ids, versions, types, schemas, orgs, corrs, causes, datas, metas, times)
	if err != nil {
		return event.AppendResult{}, err
	}
	var last event.Position
	for rows.Next() {
		var txid, seq int64
		if err := rows.Scan(&txid, &seq); err != nil {
			return event.AppendResult{}, err
		}
		p := event.Position{Commit: uint64(txid), Prepare: uint64(seq)}
		if last.Less(p) {
			last = p
		}
	}
	if err := rows.Err(); err != nil {
		return event.AppendResult{}, err
	}
	return event.AppendResult{Version: current + int64(n), Position: last}, nil
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
