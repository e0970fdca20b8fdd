package eventbus

import (
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DeadLetters is a message.Publisher that files messages in the dead_letters
// table, for Watermill's PoisonQueue middleware. The table is for operators:
// nothing consumes it, and a message filed there has been given up on.
type DeadLetters struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
}

// NewDeadLetters returns a DeadLetters writing through pool.
func NewDeadLetters(pool *pgxpool.Pool) *DeadLetters {
	if pool == nil {
		panic("eventbus: nil pool")
	}
	return &DeadLetters{pool: pool}
}

// Publish stores each message with topic, its UUID, payload and metadata
// (PoisonQueue adds the reason and the handler there).
func (d *DeadLetters) Publish(topic string, msgs ...*message.Message) error {
	if d.closed.Load() {
		return ErrClosed
	}
	for _, msg := range msgs {
		md := map[string]string(msg.Metadata)
		if md == nil {
			md = map[string]string{}
		}
		meta, err := json.Marshal(md)
		if err != nil {
			return fmt.Errorf("dead letter %s metadata: %w", msg.UUID, err)
		}
		payload := []byte(msg.Payload)
		if payload == nil {
			payload = []byte{} // the column is NOT NULL
		}
		if _, err := d.pool.Exec(msg.Context(), `
			INSERT INTO dead_letters (topic, message_id, payload, metadata) VALUES ($1, $2, $3, $4::jsonb)`,
			topic, msg.UUID, payload, string(meta)); err != nil {
			return fmt.Errorf("file dead letter %s: %w", msg.UUID, err)
		}
	}
	return nil
}

// Close makes later Publish calls fail. The pool is the caller's.
func (d *DeadLetters) Close() error {
	d.closed.Store(true)
	return nil
}
