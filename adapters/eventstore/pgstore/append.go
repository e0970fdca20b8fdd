package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
)

// appendSQL does a whole append in one statement, so one round trip and an
// implicit transaction: it looks for the event ids (an idempotent retry),
// reads the stream version, checks the expectation, inserts, and notifies
// listeners (delivered at commit only). Rows: 'f' for ids already stored,
// 'i' for inserted events, 'c' for the current version.
const appendSQL = `
WITH input AS (
	SELECT * FROM unnest($2::uuid[], $3::text[], $4::int[], $5::uuid[], $6::uuid[], $7::uuid[],
		$8::text[], $9::text[], $10::timestamptz[])
		WITH ORDINALITY AS u(id, type, schema, org, corr, cause, data, meta, at, ord)
), found AS (
	SELECT e.event_id, e.stream_id, e.event_type, e.version, e.transaction_id, e.sequence
	FROM events e WHERE e.event_id IN (SELECT id FROM input)
), cur AS (
	SELECT coalesce(max(version), 0) AS v FROM events WHERE stream_id = $1
), go AS (
	SELECT NOT EXISTS (SELECT 1 FROM found) AND CASE $11::int
		WHEN 0 THEN true WHEN 1 THEN cur.v = 0 WHEN 2 THEN cur.v > 0 ELSE cur.v = $12 END AS ok
	FROM cur
), ins AS (
	INSERT INTO events (event_id, stream_id, version, event_type, schema_version,
		organization_id, correlation_id, causation_id, data, metadata, recorded_at)
	SELECT i.id, $1, cur.v + i.ord, i.type, i.schema, i.org, i.corr, i.cause, i.data::jsonb, i.meta::jsonb, i.at
	FROM input i, cur, go WHERE go.ok ORDER BY i.ord
	RETURNING version, transaction_id, sequence
)
SELECT 'f', event_id, stream_id, event_type, version, transaction_id::text::bigint, sequence FROM found
UNION ALL
SELECT 'i', NULL, NULL, NULL, version, transaction_id::text::bigint, sequence
	FROM ins, (SELECT pg_notify('` + channel + `', pg_current_xact_id()::text)) n
UNION ALL
SELECT 'c', NULL, NULL, NULL, v, 0, 0 FROM cur`

func (s *Store) tryAppend(ctx context.Context, stream string, expected event.StreamState, events []event.Event) (event.AppendResult, error) {
	args, err := appendArgs(stream, expected, events)
	if err != nil {
		return event.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	rows, err := s.pool.Query(ctx, appendSQL, args...)
	if err != nil {
		return event.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	defer rows.Close()
	types := make(map[uuid.UUID]string, len(events))
	for _, e := range events {
		types[e.ID] = e.Type
	}
	var (
		found, inserted int
		current         int64
		res             event.AppendResult
		reused          error
	)
	for rows.Next() {
		var kind string
		var id *uuid.UUID
		var st, typ *string
		var version, txid, seq int64
		if err := rows.Scan(&kind, &id, &st, &typ, &version, &txid, &seq); err != nil {
			return event.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
		}
		pos := event.Position{Commit: uint64(txid), Prepare: uint64(seq)}
		switch kind {
		case "f":
			found++
			if *st != stream || types[*id] != *typ {
				reused = fmt.Errorf("event %s: %w", *id, event.ErrIDReuse)
			}
			if res.Position.Less(pos) {
				res = event.AppendResult{Version: version, Position: pos}
			}
		case "i":
			inserted++
			if res.Position.Less(pos) {
				res = event.AppendResult{Version: version, Position: pos}
			}
		case "c":
			current = version
		}
	}
	if err := rows.Err(); err != nil {
		return event.AppendResult{}, fmt.Errorf("append to %s: %w", stream, err)
	}
	switch {
	case reused != nil:
		return event.AppendResult{}, fmt.Errorf("append to %s: %w", stream, reused)
	case found > 0 && found < len(events):
		return event.AppendResult{}, fmt.Errorf("append to %s: %d of %d events already stored: %w",
			stream, found, len(events), event.ErrIDReuse)
	case found > 0:
		return res, nil // an idempotent retry: already stored, nothing written
	case inserted == 0:
		return event.AppendResult{}, &event.ConflictError{Stream: stream, Expected: expected, Actual: current}
	}
	return res, nil
}

// Expectation codes understood by appendSQL.
const (
	expectAny = iota
	expectEmpty
	expectExists
	expectExact
)

func appendArgs(stream string, expected event.StreamState, events []event.Event) ([]any, error) {
	n := len(events)
	var (
		ids     = make([]uuid.UUID, n)
		types   = make([]string, n)
		schemas = make([]int32, n)
		orgs    = make([]*uuid.UUID, n)
		corrs   = make([]*uuid.UUID, n)
		causes  = make([]*uuid.UUID, n)
		datas   = make([]string, n)
		metas   = make([]string, n)
		times   = make([]time.Time, n)
	)
	for i, e := range events {
		if e.ID == uuid.Nil || e.Type == "" {
			return nil, fmt.Errorf("event %d: id and type are required", i)
		}
		ids[i], types[i] = e.ID, e.Type
		schemas[i] = int32(max(e.SchemaVersion, 1))
		orgs[i], corrs[i], causes[i] = nullable(e.OrganizationID), nullable(e.CorrelationID), nullable(e.CausationID)
		data := e.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		datas[i] = string(data)
		meta, err := json.Marshal(orEmpty(e.Metadata))
		if err != nil {
			return nil, fmt.Errorf("event %d metadata: %w", i, err)
		}
		metas[i] = string(meta)
		t := e.Time
		if t.IsZero() {
			t = time.Now()
		}
		times[i] = t.UTC()
	}
	kind, want := expectAny, int64(0)
	if v, ok := event.ExactVersion(expected); ok {
		kind, want = expectExact, v
	} else if !event.IsAny(expected) {
		kind = expectExists
		if expected.Check(0) {
			kind = expectEmpty
		}
	}
	return []any{stream, ids, types, schemas, orgs, corrs, causes, datas, metas, times, kind, want}, nil
}
