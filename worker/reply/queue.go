package reply

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/companin/companin/adapters/logctx"
	"github.com/companin/companin/adapters/pgqueue"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
)

// JobKind names queued reply jobs.
const JobKind = "reply"

// MaxAttempts bounds retries before the message gets a ReplyFailed.
const MaxAttempts = 5

// Queue takes jobs.
type Queue interface {
	Enqueue(ctx context.Context, kind, key string, payload any) error
}

// Dispatcher is the log consumer: it only queues user messages, so the
// single ordered consumer stays fast while any number of workers in any
// number of processes make the replies.
type Dispatcher struct {
	queue Queue
}

// NewDispatcher returns the consumer.
func NewDispatcher(q Queue) *Dispatcher {
	if q == nil {
		panic("reply: nil queue")
	}
	return &Dispatcher{queue: q}
}

// Handle queues a reply job for each user message.
func (d *Dispatcher) Handle(ctx context.Context, e event.Event) error {
	if e.Type != (conversation.MessageSent{}).EventType() {
		return nil
	}
	var m struct {
		MessageID string `json:"message_id"`
		Role      string `json:"role"`
	}
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return fmt.Errorf("message %s: %w", e.ID, err)
	}
	if m.Role != conversation.RoleUser.String() {
		return nil
	}
	return d.queue.Enqueue(ctx, JobKind, m.MessageID, e)
}

// Run makes the reply of one queued message. Transient failures retry;
// after MaxAttempts the message gets a ReplyFailed, so the user is told
// instead of waiting forever.
func (w *Worker) Run(ctx context.Context, j *pgqueue.Job) error {
	var e event.Event
	if err := json.Unmarshal(j.Payload, &e); err != nil {
		return nil // a malformed job can never succeed
	}
	ctx = logctx.With(ctx, "correlation_id", e.CorrelationID.String(), "event_id", e.ID.String(), "job", j.ID)
	err := w.Handle(ctx, e)
	if err == nil || j.Attempts < MaxAttempts || ctx.Err() != nil {
		return err
	}
	slog.ErrorContext(ctx, "giving up on reply", "event_id", e.ID, "attempts", j.Attempts, "err", err)
	p, derr := w.Codec.Decode(e)
	if derr != nil {
		return nil
	}
	m := commands.Meta{OrganizationID: e.OrganizationID, CorrelationID: e.CorrelationID, CausationID: e.ID, Actor: Name}
	_, ferr := w.Threads.FailReply(ctx, m, e.Stream, p.(conversation.MessageSent).MessageID,
		"the assistant could not answer in time, please try again")
	return ferr
}
