// Package event defines the envelope every fact in the system is stored in,
// the position type of the global log and the expected-version rules of an
// append. It is pure: adapters (PostgreSQL, EventStoreDB) implement storage.
package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is one stored fact with its envelope.
type Event struct {
	ID             uuid.UUID
	Stream         string
	Version        int64 // 1-based position within the stream
	Position       Position
	Type           string
	SchemaVersion  int
	OrganizationID uuid.UUID
	CorrelationID  uuid.UUID
	CausationID    uuid.UUID
	Time           time.Time
	Data           json.RawMessage
	Metadata       map[string]string
}

// Position is a place in the global log. For PostgreSQL, Commit is the
// transaction id and Prepare the sequence within it; for EventStoreDB they are
// its commit and prepare positions. Both compare the same way: by Commit,
// then Prepare.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// AppendResult tells where an append landed.
type AppendResult struct {
	Version  int64    // stream version after the append
	Position Position // global position of the last event appended
}

// Start is the position before the first event.
var Start = Position{}

// Less reports whether p is before q in the global log.
func (p Position) Less(q Position) bool {
	if p.Commit != q.Commit {
		return p.Commit < q.Commit
	}
	return p.Prepare < q.Prepare
}

// String renders the position as "commit/prepare", the form used in
// checkpoints, cursors and message metadata.
func (p Position) String() string { return fmt.Sprintf("%d/%d", p.Commit, p.Prepare) }

// ParsePosition reverses Position.String.
func ParsePosition(s string) (Position, error) {
	var p Position
	if _, err := fmt.Sscanf(s, "%d/%d", &p.Commit, &p.Prepare); err != nil {
		return Position{}, fmt.Errorf("parse position %q: %w", s, err)
	}
	if p.String() != s {
		return Position{}, fmt.Errorf("parse position %q: trailing data", s)
	}
	return p, nil
}

// ErrConflict is returned when an append's expected version does not match
// the stream. Callers reload and decide again.
var ErrConflict = errors.New("stream version conflict")

// ErrIDReuse is returned when an event id already stored is appended with
// different content or to another stream: a retry must repeat itself exactly.
var ErrIDReuse = errors.New("event id reused for a different event")

// ConflictError carries the detail of a version conflict; errors.Is matches
// ErrConflict.
type ConflictError struct {
	Stream   string
	Expected StreamState
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("append to %s: expected %s, stream is at %d: %v", e.Stream, e.Expected, e.Actual, ErrConflict)
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// ErrUnknownKind is returned when decoding an event type no domain package
// registered; consumers skip such events.
var ErrUnknownKind = errors.New("unknown event kind")
