// Package eventbus runs the event store's global log through Watermill: a
// Publisher appending messages as events, a Subscriber delivering the log in
// order with per-consumer checkpoints and one active process per consumer,
// a dead letter table for messages given up on, and the router every
// consumer (read-model projectors, the reply worker) runs in.
//
// Log through slog with watermill.NewSlogLogger(logger).
package eventbus
