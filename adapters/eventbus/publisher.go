package eventbus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/companin/companin/domain/event"
)

// ErrClosed is returned by a Publisher or Subscriber used after Close.
var ErrClosed = errors.New("event bus closed")

// Appender is what the Publisher needs of the event store.
type Appender interface {
	Append(ctx context.Context, stream string, expected event.StreamState, events []event.Event) (event.AppendResult, error)
}

// Publisher is a message.Publisher that appends each message as an event to
// the stream named by the topic.
//
// The event id is a UUID derived from the topic and the message UUID, so
// publishing the same message again (a retry) stores nothing new; the message
// UUID is kept in the event's metadata and is the UUID subscribers see. The
// event type comes from the "event_type" metadata (default
// "watermill.message"); organization_id, correlation_id, causation_id and
// schema_version metadata fill the envelope. A JSON payload is stored as is
// (jsonb: it comes back equal as JSON, not byte for byte: whitespace and key
// order are normalised); any other payload is stored as a base64 string and
// restored exactly.
type Publisher struct {
	store  Appender
	closed atomic.Bool
	// Appends to one stream are serialised in this process: the store
	// resolves concurrent appends with expected Any by retrying, and many
	// goroutines publishing to one topic would otherwise spend their retries
	// on each other.
	stripes [64]sync.Mutex
}

// NewPublisher returns a Publisher appending to store.
func NewPublisher(store Appender) *Publisher {
	if store == nil {
		panic("eventbus: nil store")
	}
	return &Publisher{store: store}
}

// Publish appends msgs to stream topic in order, one event per message. It
// stops at the first failure; publishing all of them again is safe. Each
// append runs under its message's context.
func (p *Publisher) Publish(topic string, msgs ...*message.Message) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if topic == "" || topic == AllTopic {
		return fmt.Errorf("publish: invalid topic %q", topic)
	}
	mu := &p.stripes[stripe(topic, len(p.stripes))]
	for _, msg := range msgs {
		e := eventFromMessage(topic, msg)
		mu.Lock()
		_, err := p.store.Append(msg.Context(), topic, event.Any(), []event.Event{e})
		mu.Unlock()
		if err != nil {
			return fmt.Errorf("publish message %s: %w", msg.UUID, err)
		}
	}
	return nil
}

// Close makes later Publish calls fail. The store is the caller's.
func (p *Publisher) Close() error {
	p.closed.Store(true)
	return nil
}

func stripe(s string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(s))
	return int(h.Sum32() % uint32(n))
}
