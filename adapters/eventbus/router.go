package eventbus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/companin/companin/domain/event"
)

// DeadLetterTopic is the topic poisoned messages are published to.
const DeadLetterTopic = "dead_letters"

// NewRouter returns a router whose handlers retry failures with backoff and
// finally hand the message to dead (normally DeadLetters) and move on.
//
// Middleware runs outermost first: PoisonQueue, then Retry, then Recoverer,
// so a panic becomes an error inside the retry loop, is retried like any
// other failure and, if it persists, poisoned; it never reaches the router
// (which would nack forever) or crashes the process. An error caused by the
// subscription ending (context.Canceled) is not poisoned: the message is
// delivered again later.
func NewRouter(logger watermill.LoggerAdapter, dead message.Publisher) (*message.Router, error) {
	if dead == nil {
		return nil, errors.New("eventbus: nil dead letter publisher")
	}
	if logger == nil {
		logger = watermill.NewSlogLogger(nil)
	}
	r, err := message.NewRouter(message.RouterConfig{}, logger)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(dead, DeadLetterTopic, func(err error) bool {
		return !errors.Is(err, context.Canceled)
	})
	if err != nil {
		return nil, fmt.Errorf("poison queue: %w", err)
	}
	r.AddMiddleware(
		poison,
		middleware.Retry{
			MaxRetries:      5,
			InitialInterval: 50 * time.Millisecond,
			Multiplier:      2,
			MaxInterval:     2 * time.Second,
			Logger:          logger,
		}.Middleware,
		middleware.Recoverer,
	)
	return r, nil
}

// AddConsumer registers fn as the handler named name of every event in the
// global log, in order, on a Subscriber of its own whose consumer group is
// name.
//
// The name is the consumer's identity: its checkpoint row and its lock.
// Renaming a consumer makes it a new one that consumes the whole log again
// from the beginning; that is how a projection is rebuilt, and a disaster if
// done by accident.
//
// fn must be idempotent: delivery is at least once. A consumer that keeps its
// own checkpoint (a projector) reads it from e.Position and writes it in the
// transaction that applies e; the Subscriber only ever moves it forward.
func AddConsumer(r *message.Router, subscribers SubscriberFactory, name string, fn func(ctx context.Context, e event.Event) error) error {
	if name == "" {
		return errors.New("add consumer: empty name")
	}
	if _, ok := r.Handlers()[name]; ok {
		return fmt.Errorf("add consumer %s: name taken", name)
	}
	sub, err := subscribers(name)
	if err != nil {
		return fmt.Errorf("add consumer %s: %w", name, err)
	}
	// The router closes the subscriber when it closes.
	r.AddConsumerHandler(name, AllTopic, sub, func(msg *message.Message) error {
		e, err := EventFromMessage(msg)
		if err != nil {
			return err
		}
		return fn(msg.Context(), e)
	})
	return nil
}
