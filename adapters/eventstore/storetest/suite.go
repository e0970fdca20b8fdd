// Package storetest is the contract every event store adapter must pass:
// stream versions, idempotent appends and a global log that tailing readers
// never skip, also under heavy concurrency. Adapters call Run from a test.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
)

// Store is the port under test.
type Store interface {
	Append(ctx context.Context, stream string, expected event.StreamState, events []event.Event) (event.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from int64, limit int) ([]event.Event, error)
	ReadAll(ctx context.Context, from event.Position, limit int) ([]event.Event, error)
	Tail(ctx context.Context, from event.Position, batch int, fn func(context.Context, []event.Event) error) error
}

// Run runs the whole contract. newStore must return an empty store that no
// other test writes to.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"AppendAndReadStream", testAppendAndReadStream},
		{"ExpectedVersion", testExpectedVersion},
		{"IdempotentAppend", testIdempotentAppend},
		{"IDReuse", testIDReuse},
		{"ConcurrentExactAppends", testConcurrentExactAppends},
		{"ReadAllPaging", testReadAllPaging},
		{"TailFollowsLiveAppends", testTailFollowsLiveAppends},
		{"OrderingUnderConcurrency", testOrderingUnderConcurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// NewEvent builds a valid event for tests.
func NewEvent(typ string, data any) event.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	return event.Event{
		ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: b,
		OrganizationID: uuid.New(), CorrelationID: uuid.New(), CausationID: uuid.New(),
		Time:     time.Now().UTC().Truncate(time.Microsecond),
		Metadata: map[string]string{"k": "v"},
	}
}

func stream(prefix string) string { return prefix + "-" + uuid.NewString() }

// readAll returns the whole log once n events are readable. The log hides
// events behind any older write transaction still running in the cluster
// (other tests' included), so a just-committed event may take a moment to
// become readable; never more than n are expected.
func readAll(t *testing.T, s Store, n int) []event.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, err := s.ReadAll(context.Background(), event.Start, n+100)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) >= n || time.Now().After(deadline) {
			return all
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testAppendAndReadStream(t *testing.T, s Store) {
	ctx := context.Background()
	st := stream("order")
	in := []event.Event{NewEvent("a.happened", map[string]int{"n": 1}), NewEvent("b.happened", map[string]int{"n": 2})}
	res, err := s.Append(ctx, st, event.NoStream(), in)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if res.Version != 2 {
		t.Errorf("version = %d, want 2", res.Version)
	}
	got, err := s.ReadStream(ctx, st, 1, 0)
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d events, want 2", len(got))
	}
	for i, e := range got {
		w := in[i]
		if e.ID != w.ID || e.Type != w.Type || e.Stream != st || e.Version != int64(i+1) ||
			e.OrganizationID != w.OrganizationID || e.CorrelationID != w.CorrelationID ||
			e.CausationID != w.CausationID || !e.Time.Equal(w.Time) || e.SchemaVersion != 1 ||
			e.Metadata["k"] != "v" {
			t.Errorf("event %d = %+v, want envelope of %+v", i, e, w)
		}
		var d map[string]int
		if err := json.Unmarshal(e.Data, &d); err != nil || d["n"] != i+1 {
			t.Errorf("event %d data = %s", i, e.Data)
		}
	}
	if got[1].Position != res.Position {
		t.Errorf("position of last = %v, append said %v", got[1].Position, res.Position)
	}
	if !got[0].Position.Less(got[1].Position) {
		t.Errorf("positions not increasing: %v, %v", got[0].Position, got[1].Position)
	}
	tail, err := s.ReadStream(ctx, st, 2, 0)
	if err != nil || len(tail) != 1 || tail[0].Version != 2 {
		t.Errorf("ReadStream from 2 = %v, %v; want the second event", tail, err)
	}
	none, err := s.ReadStream(ctx, stream("missing"), 1, 0)
	if err != nil || len(none) != 0 {
		t.Errorf("ReadStream of missing stream = %v, %v; want empty", none, err)
	}
}

func testExpectedVersion(t *testing.T, s Store) {
	ctx := context.Background()
	st := stream("ev")
	e := func() []event.Event { return []event.Event{NewEvent("x", nil)} }
	steps := []struct {
		name     string
		expected event.StreamState
		conflict bool
	}{
		{"exists on empty", event.StreamExists(), true},
		{"exact 1 on empty", event.Exact(1), true},
		{"no stream on empty", event.NoStream(), false},
		{"no stream on existing", event.NoStream(), true},
		{"exact 0 on existing", event.Exact(0), true},
		{"exact 1", event.Exact(1), false},
		{"exact stale", event.Exact(1), true},
		{"exists", event.StreamExists(), false},
		{"any", event.Any(), false},
		{"exact 4", event.Exact(4), false},
	}
	for _, step := range steps {
		_, err := s.Append(ctx, st, step.expected, e())
		if got := errors.Is(err, event.ErrConflict); got != step.conflict {
			t.Fatalf("%s: err = %v, want conflict=%v", step.name, err, step.conflict)
		}
		var ce *event.ConflictError
		if step.conflict && !errors.As(err, &ce) {
			t.Errorf("%s: error %v does not carry a ConflictError", step.name, err)
		}
	}
	got, _ := s.ReadStream(ctx, st, 1, 0)
	if len(got) != 5 {
		t.Errorf("stream has %d events, want 5", len(got))
	}
}

func testIdempotentAppend(t *testing.T, s Store) {
	ctx := context.Background()
	st := stream("idem")
	batch := []event.Event{NewEvent("a", nil), NewEvent("b", nil)}
	first, err := s.Append(ctx, st, event.NoStream(), batch)
	if err != nil {
		t.Fatal(err)
	}
	// A retry repeats the original request, stale expectation included.
	for _, exp := range []event.StreamState{event.NoStream(), event.Any(), event.Exact(0)} {
		again, err := s.Append(ctx, st, exp, batch)
		if err != nil {
			t.Fatalf("retry with %s: %v", exp, err)
		}
		if again != first {
			t.Errorf("retry with %s = %+v, want %+v", exp, again, first)
		}
	}
	// Concurrent retries of one new batch: still one copy.
	next := []event.Event{NewEvent("c", nil)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := s.Append(ctx, st, event.Exact(2), next)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent retry: %v", err)
		}
	}
	got, _ := s.ReadStream(ctx, st, 1, 0)
	if len(got) != 3 {
		t.Errorf("stream has %d events, want 3", len(got))
	}
	all := readAll(t, s, 3)
	if len(all) != 3 {
		t.Errorf("log has %d events, want 3", len(all))
	}
}

func testIDReuse(t *testing.T, s Store) {
	ctx := context.Background()
	a := NewEvent("a", nil)
	st := stream("reuse")
	if _, err := s.Append(ctx, st, event.Any(), []event.Event{a}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		stream string
		events []event.Event
	}{
		{"other stream", stream("other"), []event.Event{a}},
		{"partial batch", st, []event.Event{a, NewEvent("b", nil)}},
		{"other type", st, []event.Event{{ID: a.ID, Type: "changed", Data: a.Data}}},
	}
	for _, c := range cases {
		if _, err := s.Append(ctx, c.stream, event.Any(), c.events); !errors.Is(err, event.ErrIDReuse) {
			t.Errorf("%s: err = %v, want ErrIDReuse", c.name, err)
		}
	}
	all := readAll(t, s, 1)
	if len(all) != 1 {
		t.Errorf("log has %d events, want 1 (nothing partial written)", len(all))
	}
}

func testConcurrentExactAppends(t *testing.T, s Store) {
	ctx := context.Background()
	st := stream("race")
	const writers, rounds = 16, 10
	var mu sync.Mutex
	wins := map[int64]int{}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range rounds {
				for {
					evs, err := s.ReadStream(ctx, st, 1, 0)
					if err != nil {
						t.Error(err)
						return
					}
					v := int64(len(evs))
					_, err = s.Append(ctx, st, event.Exact(v), []event.Event{NewEvent("race", nil)})
					if errors.Is(err, event.ErrConflict) {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					wins[v+1]++
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	for v, n := range wins {
		if n != 1 {
			t.Errorf("version %d won by %d writers", v, n)
		}
	}
	got, _ := s.ReadStream(ctx, st, 1, 0)
	if len(got) != writers*rounds {
		t.Errorf("stream has %d events, want %d", len(got), writers*rounds)
	}
	for i, e := range got {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
}

func testReadAllPaging(t *testing.T, s Store) {
	ctx := context.Background()
	var want []uuid.UUID
	for i := range 5 {
		e := NewEvent("page", map[string]int{"i": i})
		want = append(want, e.ID)
		if _, err := s.Append(ctx, stream("p"), event.NoStream(), []event.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	readAll(t, s, len(want))
	var got []uuid.UUID
	pos := event.Start
	for {
		page, err := s.ReadAll(ctx, pos, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d, limit 2", len(page))
		}
		for _, e := range page {
			got = append(got, e.ID)
		}
		pos = page[len(page)-1].Position
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("paged log = %v, want %v", got, want)
	}
}

func testTailFollowsLiveAppends(t *testing.T, s Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := make(chan event.Event, 10)
	go s.Tail(ctx, event.Start, 0, func(_ context.Context, evs []event.Event) error {
		for _, e := range evs {
			seen <- e
		}
		return nil
	})
	for i := range 3 {
		e := NewEvent("live", nil)
		if _, err := s.Append(ctx, stream("live"), event.Any(), []event.Event{e}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-seen:
			if got.ID != e.ID {
				t.Fatalf("append %d: tail saw %s, want %s", i, got.ID, e.ID)
			}
		case <-ctx.Done():
			t.Fatalf("append %d never reached the tail", i)
		}
	}
}

// testOrderingUnderConcurrency is the guarantee projections rely on: while
// many writers append to shared and private streams, every tailing reader
// sees every committed event exactly once, streams in version order, and
// nothing that was not committed.
func testOrderingUnderConcurrency(t *testing.T, s Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const (
		writers   = 12
		perWriter = 40
		readers   = 4
		shared    = 3
	)
	sharedStreams := make([]string, shared)
	for i := range sharedStreams {
		sharedStreams[i] = stream("shared")
	}

	var mu sync.Mutex
	committed := map[uuid.UUID]string{}
	var rejected []uuid.UUID

	// Readers stop at a sentinel appended after every writer finished: it is
	// later in the global order than anything they wrote.
	sentinel := NewEvent("sentinel", nil)
	errSentinel := errors.New("sentinel reached")
	type view struct {
		events []event.Event
		err    error
	}
	views := make([]chan view, readers)
	for r := range readers {
		views[r] = make(chan view, 1)
		go func() {
			var got []event.Event
			err := s.Tail(ctx, event.Start, 7+r*13, func(_ context.Context, evs []event.Event) error {
				for _, e := range evs {
					if e.ID == sentinel.ID {
						return errSentinel
					}
					got = append(got, e)
				}
				return nil
			})
			if errors.Is(err, errSentinel) {
				err = nil
			}
			views[r] <- view{got, err}
		}()
	}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			own := stream(fmt.Sprintf("w%d", w))
			for i := range perWriter {
				st := own
				expected := event.StreamState(event.Any())
				if i%3 == 0 {
					st = sharedStreams[(w+i)%shared]
					// Exact on a shared stream: many of these lose the race
					// and must leave no trace.
					evs, err := s.ReadStream(ctx, st, 1, 0)
					if err != nil {
						t.Error(err)
						return
					}
					expected = event.Exact(int64(len(evs)))
				}
				batch := []event.Event{NewEvent("stress", nil)}
				if i%5 == 0 {
					batch = append(batch, NewEvent("stress", nil))
				}
				_, err := s.Append(ctx, st, expected, batch)
				mu.Lock()
				for _, e := range batch {
					if err == nil {
						committed[e.ID] = st
					} else {
						rejected = append(rejected, e.ID)
					}
				}
				mu.Unlock()
				if err != nil && !errors.Is(err, event.ErrConflict) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	want := len(committed)
	if _, err := s.Append(ctx, stream("end"), event.NoStream(), []event.Event{sentinel}); err != nil {
		t.Fatal(err)
	}
	rejectedSet := map[uuid.UUID]bool{}
	for _, id := range rejected {
		rejectedSet[id] = true
	}
	for r := range readers {
		v := <-views[r]
		if v.err != nil {
			t.Errorf("reader %d: %v", r, v.err)
			continue
		}
		seen := map[uuid.UUID]bool{}
		lastVersion := map[string]int64{}
		var lastPos event.Position
		for i, e := range v.events {
			if seen[e.ID] {
				t.Errorf("reader %d saw %s twice", r, e.ID)
			}
			seen[e.ID] = true
			if rejectedSet[e.ID] {
				t.Errorf("reader %d saw %s from a rejected append", r, e.ID)
			}
			if i > 0 && !lastPos.Less(e.Position) {
				t.Errorf("reader %d: position %v after %v", r, e.Position, lastPos)
			}
			lastPos = e.Position
			if e.Version != lastVersion[e.Stream]+1 {
				t.Errorf("reader %d: %s version %d after %d", r, e.Stream, e.Version, lastVersion[e.Stream])
			}
			lastVersion[e.Stream] = e.Version
		}
		for id := range committed {
			if !seen[id] {
				t.Errorf("reader %d never saw committed event %s", r, id)
			}
		}
		if len(v.events) != want {
			t.Errorf("reader %d saw %d events, want %d", r, len(v.events), want)
		}
	}
	if len(rejected) == 0 {
		t.Log("no append lost a race: the stress did not exercise conflicts")
	}
}
