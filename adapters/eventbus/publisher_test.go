package eventbus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/companin/companin/adapters/eventbus"
	"github.com/companin/companin/domain/event"
)

// TestPublishRoundTrip publishes messages and checks what the store holds,
// what subscribers get and what EventFromMessage rebuilds.
func TestPublishRoundTrip(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	ctx := context.Background()
	pub := eventbus.NewPublisher(db.store)
	correlation := uuid.New()

	tests := []struct {
		name     string
		id       string
		payload  []byte
		metadata map[string]string
		wantType string
		wantData string // what events.data holds, as jsonb prints it
		jsonOnly bool   // the payload comes back equal as JSON, not byte for byte
	}{
		{name: "json object", id: uuid.NewString(), payload: []byte(`{"b": [1,2], "a":"x"}`),
			metadata: map[string]string{"event_type": "test.object", "k": "v", "correlation_id": correlation.String()},
			wantType: "test.object", wantData: `{"a": "x", "b": [1, 2]}`, jsonOnly: true},
		{name: "json number", id: uuid.NewString(), payload: []byte(`42`),
			wantType: eventbus.DefaultEventType, wantData: `42`},
		{name: "text", id: "not-a-uuid", payload: []byte("hello"),
			wantType: eventbus.DefaultEventType, wantData: `"aGVsbG8="`},
		{name: "binary", id: uuid.NewString(), payload: []byte{0, 1, 2, 0xff},
			wantType: eventbus.DefaultEventType, wantData: `"AAEC/w=="`},
		{name: "empty", id: uuid.NewString(), payload: nil,
			wantType: eventbus.DefaultEventType, wantData: `""`},
		{name: "json with NUL", id: uuid.NewString(), payload: []byte(`"a\u0000b"`),
			wantType: eventbus.DefaultEventType, wantData: `"ImFcdTAwMDBiIg=="`},
		{name: "short correlation id", id: uuid.NewString(), payload: []byte(`{}`),
			metadata: map[string]string{"correlation_id": "abc"},
			wantType: eventbus.DefaultEventType, wantData: `{}`},
	}
	for _, tt := range tests {
		msg := message.NewMessage(tt.id, tt.payload)
		for k, v := range tt.metadata {
			msg.Metadata.Set(k, v)
		}
		if err := pub.Publish("topic-a", msg); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		// Publishing again (a retry) stores nothing new.
		if err := pub.Publish("topic-a", msg); err != nil {
			t.Fatalf("%s again: %v", tt.name, err)
		}
	}
	// The same message on another topic is another event.
	if err := pub.Publish("topic-b", message.NewMessage(tests[0].id, []byte(`1`))); err != nil {
		t.Fatal(err)
	}

	stored, err := db.store.ReadAll(ctx, event.Start, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(stored), len(tests)+1; got != want {
		t.Fatalf("stored %d events, want %d", got, want)
	}
	sub, err := eventbus.NewSubscriber(db.store, db.pool, eventbus.SubscriberConfig{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, "topic-a")
	if err != nil {
		t.Fatal(err)
	}

	for i, tt := range tests {
		e := stored[i]
		if e.Stream != "topic-a" || e.Type != tt.wantType || string(e.Data) != tt.wantData {
			t.Errorf("%s: stored stream %q type %q data %s, want topic-a %q %s", tt.name, e.Stream, e.Type, e.Data, tt.wantType, tt.wantData)
		}
		msg := receive(t, msgs, 10*time.Second)
		msg.Ack()
		if msg.UUID != tt.id {
			t.Errorf("%s: got message UUID %q, want %q", tt.name, msg.UUID, tt.id)
		}
		if tt.jsonOnly {
			if !jsonEqual(t, msg.Payload, tt.payload) {
				t.Errorf("%s: got payload %s, want %s as JSON", tt.name, msg.Payload, tt.payload)
			}
		} else if !bytes.Equal(msg.Payload, tt.payload) {
			t.Errorf("%s: got payload %q, want %q", tt.name, msg.Payload, tt.payload)
		}
		for k, v := range tt.metadata {
			if got := msg.Metadata.Get(k); got != v {
				t.Errorf("%s: metadata %s: got %q, want %q", tt.name, k, got, v)
			}
		}
		wantEnvelope := map[string]string{
			eventbus.KeyEventID:       e.ID.String(),
			eventbus.KeyEventType:     tt.wantType,
			eventbus.KeyStream:        "topic-a",
			eventbus.KeyVersion:       strconv.Itoa(i + 1),
			eventbus.KeyPosition:      e.Position.String(),
			eventbus.KeyRecordedAt:    e.Time.Format(time.RFC3339Nano),
			eventbus.KeySchemaVersion: "1",
		}
		for k, v := range wantEnvelope {
			if got := msg.Metadata.Get(k); got != v {
				t.Errorf("%s: metadata %s: got %q, want %q", tt.name, k, got, v)
			}
		}

		got, err := eventbus.EventFromMessage(msg)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !tt.jsonOnly && !reflect.DeepEqual(got, e) {
			t.Errorf("%s: EventFromMessage:\n got %+v\nwant %+v", tt.name, got, e)
		}
	}
	if got := stored[0].CorrelationID; got != correlation {
		t.Errorf("correlation id: got %s, want %s in the envelope", got, correlation)
	}
	if got := stored[len(tests)-1].Metadata["correlation_id"]; got != "abc" {
		t.Errorf("short correlation id: got %q, want it kept as metadata", got)
	}
}

func TestEventFromMessageRejectsForeignMessages(t *testing.T) {
	_, err := eventbus.EventFromMessage(message.NewMessage(uuid.NewString(), []byte(`{}`)))
	if err == nil {
		t.Fatal("got no error for a message without an envelope")
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
