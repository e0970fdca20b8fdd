package eventbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/companin/companin/adapters/eventbus"
	"github.com/companin/companin/domain/event"
)

func newEvent(typ string) event.Event {
	return event.Event{ID: uuid.New(), Type: typ, SchemaVersion: 1, Data: json.RawMessage(`{"n":1}`)}
}

// appendEvents appends events of the given types to stream, the way command
// handlers do, and returns them as stored.
func appendEvents(t *testing.T, db *testDB, stream string, types ...string) []event.Event {
	t.Helper()
	ctx := context.Background()
	evs := make([]event.Event, len(types))
	for i, typ := range types {
		evs[i] = newEvent(typ)
	}
	if _, err := db.store.Append(ctx, stream, event.Any(), evs); err != nil {
		t.Fatal(err)
	}
	stored, err := db.store.ReadStream(ctx, stream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return stored[len(stored)-len(types):]
}

// checkpoint returns the checkpoint of consumer, or Start if it has none.
func checkpoint(t *testing.T, db *testDB, consumer string) event.Position {
	t.Helper()
	var txid, seq int64
	err := db.pool.QueryRow(context.Background(),
		`SELECT transaction_id::text::bigint, sequence FROM checkpoints WHERE consumer = $1`, consumer).Scan(&txid, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return event.Start
	}
	if err != nil {
		t.Fatal(err)
	}
	return event.Position{Commit: uint64(txid), Prepare: uint64(seq)}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func receive(t *testing.T, msgs <-chan *message.Message, timeout time.Duration) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-msgs:
		if !ok {
			t.Fatal("messages channel closed")
		}
		return msg
	case <-time.After(timeout):
		t.Fatalf("no message within %s", timeout)
		return nil
	}
}

func noMessage(t *testing.T, msgs <-chan *message.Message, wait time.Duration) {
	t.Helper()
	select {
	case msg := <-msgs:
		t.Fatalf("got message %s (%s), want none", msg.UUID, msg.Metadata[eventbus.KeyEventType])
	case <-time.After(wait):
	}
}

// TestRouter runs two consumers over the same events: one panics once on an
// event, one always fails on it.
func TestRouter(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	evs := appendEvents(t, db, "conversation-1", "first", "poison", "last")
	last := evs[len(evs)-1].Position

	r, err := eventbus.NewRouter(testLogger(), eventbus.NewDeadLetters(db.pool))
	if err != nil {
		t.Fatal(err)
	}
	subs := eventbus.Subscribers(db.store, db.pool, eventbus.SubscriberConfig{NackDelay: 10 * time.Millisecond, Logger: testLogger()})

	var mu sync.Mutex
	handled := map[string][]string{} // consumer: types handled successfully, in order
	attempts := map[string]int{}     // consumer: attempts on "poison"
	consumer := func(name string, fail func(attempt int) error) func(context.Context, event.Event) error {
		return func(ctx context.Context, e event.Event) error {
			if e.Type == "poison" {
				mu.Lock()
				attempts[name]++
				n := attempts[name]
				mu.Unlock()
				if err := fail(n); err != nil {
					return err
				}
			}
			mu.Lock()
			handled[name] = append(handled[name], e.Type)
			mu.Unlock()
			return nil
		}
	}
	if err := eventbus.AddConsumer(r, subs, "test.panics_once", consumer("test.panics_once", func(attempt int) error {
		if attempt == 1 {
			panic("boom")
		}
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := eventbus.AddConsumer(r, subs, "test.always_fails", consumer("test.always_fails", func(int) error {
		return errors.New("cannot handle this")
	})); err != nil {
		t.Fatal(err)
	}
	if err := eventbus.AddConsumer(r, subs, "test.always_fails", consumer("x", nil)); err == nil {
		t.Error("AddConsumer with a taken name: got no error")
	}

	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	eventually(t, 20*time.Second, "both checkpoints at the last event", func() bool {
		return checkpoint(t, db, "test.panics_once") == last && checkpoint(t, db, "test.always_fails") == last
	})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if got, want := handled["test.panics_once"], []string{"first", "poison", "last"}; !slices.Equal(got, want) {
		t.Errorf("panicking consumer handled %v, want %v", got, want)
	}
	if got, want := attempts["test.panics_once"], 2; got != want {
		t.Errorf("panicking consumer attempts on poison: got %d, want %d", got, want)
	}
	if got, want := handled["test.always_fails"], []string{"first", "last"}; !slices.Equal(got, want) {
		t.Errorf("failing consumer handled %v, want %v", got, want)
	}
	if got, want := attempts["test.always_fails"], 6; got != want {
		t.Errorf("failing consumer attempts on poison: got %d, want %d (1 + 5 retries)", got, want)
	}

	rows, err := db.pool.Query(context.Background(), `SELECT topic, message_id, payload, metadata FROM dead_letters`)
	if err != nil {
		t.Fatal(err)
	}
	type deadLetter struct {
		topic, id string
		payload   []byte
		meta      map[string]string
	}
	dead, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (deadLetter, error) {
		var d deadLetter
		err := row.Scan(&d.topic, &d.id, &d.payload, &d.meta)
		return d, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 {
		t.Fatalf("got %d dead letters, want 1: %+v", len(dead), dead)
	}
	d, poison := dead[0], evs[1]
	if d.topic != eventbus.DeadLetterTopic || d.id != poison.ID.String() || string(d.payload) != string(poison.Data) {
		t.Errorf("dead letter: got topic %q id %s payload %s, want %q %s %s",
			d.topic, d.id, d.payload, eventbus.DeadLetterTopic, poison.ID, poison.Data)
	}
	if got := d.meta[middleware.PoisonedHandlerKey]; got != "test.always_fails" {
		t.Errorf("dead letter handler: got %q, want test.always_fails", got)
	}
	if got := d.meta[middleware.ReasonForPoisonedKey]; !strings.Contains(got, "cannot handle this") {
		t.Errorf("dead letter reason: got %q, want the handler's error", got)
	}
	if got := d.meta[eventbus.KeyPosition]; got != poison.Position.String() {
		t.Errorf("dead letter position: got %q, want %s", got, poison.Position)
	}
}

// TestSingleActiveConsumer shows that subscribers of one group, wherever
// they run, deliver one at a time: the second waits for the first to close
// or to lose its connection, then resumes from the checkpoint.
func TestSingleActiveConsumer(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	evs := appendEvents(t, db, "s", "e1", "e2")
	newSub := func() *eventbus.Subscriber {
		sub, err := eventbus.NewSubscriber(db.store, db.pool, eventbus.SubscriberConfig{ConsumerGroup: "solo", Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		eventbus.SetLockCheck(sub, 50*time.Millisecond)
		t.Cleanup(func() { sub.Close() })
		return sub
	}

	sub1, sub2 := newSub(), newSub()
	msgs1, err := sub1.Subscribe(ctx, eventbus.AllTopic)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, msgs1, 10*time.Second).Ack()
	held := receive(t, msgs1, 10*time.Second) // e2, never acknowledged
	if held.UUID != evs[1].ID.String() {
		t.Fatalf("second message: got %s, want e2 %s", held.UUID, evs[1].ID)
	}
	msgs2, err := sub2.Subscribe(ctx, eventbus.AllTopic)
	if err != nil {
		t.Fatal(err)
	}
	noMessage(t, msgs2, 1500*time.Millisecond)

	// Closing waits for the verdict on e2, as a router would give it once
	// the message's context is cancelled.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		sub1.Close()
	}()
	<-held.Context().Done()
	held.Nack()
	<-closed
	if _, open := <-msgs1; open {
		t.Fatal("channel of closed subscriber still open")
	}
	msg := receive(t, msgs2, 10*time.Second)
	if msg.UUID != evs[1].ID.String() {
		t.Fatalf("after take over: got %s, want e2 %s", msg.UUID, evs[1].ID)
	}
	msg.Ack()
	eventually(t, 5*time.Second, "checkpoint at e2", func() bool { return checkpoint(t, db, "solo") == evs[1].Position })

	// The active process dies: its lock session ends without Close.
	sub3 := newSub()
	msgs3, err := sub3.Subscribe(ctx, eventbus.AllTopic)
	if err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := db.pool.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d lock holders, want 1", killed)
	}
	time.Sleep(200 * time.Millisecond) // sub2 notices; now sub2 and sub3 race for the lock
	e3 := appendEvents(t, db, "s", "e3")[0]

	// Exactly one of them delivers e3; the other keeps waiting.
	var active, standby <-chan *message.Message
	select {
	case msg = <-msgs2:
		active, standby = msgs2, msgs3
	case msg = <-msgs3:
		active, standby = msgs3, msgs2
	case <-time.After(10 * time.Second):
		t.Fatal("nobody took over")
	}
	if msg.UUID != e3.ID.String() {
		t.Fatalf("after the holder died: got %s (%s), want e3", msg.UUID, msg.Metadata[eventbus.KeyEventType])
	}
	msg.Ack()
	e4 := appendEvents(t, db, "s", "e4")[0]
	msg = receive(t, active, 10*time.Second)
	msg.Ack()
	if msg.UUID != e4.ID.String() {
		t.Fatalf("got %s, want e4", msg.UUID)
	}
	noMessage(t, standby, 1500*time.Millisecond)
}

// TestCheckpointNeverMovesBack: a projector stores a later checkpoint in its
// own transaction; acknowledging an earlier event must not undo it.
func TestCheckpointNeverMovesBack(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	evs := appendEvents(t, db, "s", "e1", "e2", "e3")
	sub, err := eventbus.NewSubscriber(db.store, db.pool, eventbus.SubscriberConfig{ConsumerGroup: "proj", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, eventbus.AllTopic)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, msgs, 10*time.Second).Ack()
	msg := receive(t, msgs, 10*time.Second) // e2
	if got, want := checkpoint(t, db, "proj"), evs[0].Position; got != want {
		t.Errorf("after acking e1: checkpoint %s, want %s", got, want)
	}

	later := evs[2].Position
	if _, err := db.pool.Exec(ctx, `UPDATE checkpoints SET transaction_id = $1::text::xid8, sequence = $2 WHERE consumer = 'proj'`,
		strconv.FormatUint(later.Commit, 10), int64(later.Prepare)); err != nil {
		t.Fatal(err)
	}
	msg.Ack()
	// e2's checkpoint is written before e3 is delivered.
	e3 := receive(t, msgs, 10*time.Second)
	if got := checkpoint(t, db, "proj"); got != later {
		t.Errorf("after acking e2 with a later checkpoint stored: checkpoint %s, want %s", got, later)
	}
	e3.Ack()
}
