// Package pgqueue is a work queue in PostgreSQL shared by any number of
// worker processes: jobs are enqueued idempotently by (kind, key), claimed
// with FOR UPDATE SKIP LOCKED under a lease (a worker that dies loses its
// claim when the lease ends), retried with backoff, and deleted when done.
package pgqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/pglisten"
)

const channel = "companin_jobs"

// Job is one claimed unit of work.
type Job struct {
	ID       int64
	Kind     string
	Key      string
	Payload  json.RawMessage
	Attempts int // including this one
}

// Queue is the work queue.
type Queue struct {
	pool  *pgxpool.Pool
	lease time.Duration

	mu   sync.Mutex
	wake chan struct{}
}

// New returns a queue whose claims last lease; a job running longer must be
// idempotent, as another worker may then take it too.
func New(pool *pgxpool.Pool, lease time.Duration) *Queue {
	return &Queue{pool: pool, lease: lease, wake: make(chan struct{})}
}

// Enqueue adds a job unless one with the same kind and key is queued.
func (q *Queue) Enqueue(ctx context.Context, kind, key string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("enqueue %s %s: %w", kind, key, err)
	}
	_, err = q.pool.Exec(ctx, `
		WITH ins AS (INSERT INTO jobs (kind, key, payload) VALUES ($1, $2, $3)
			ON CONFLICT (kind, key) DO NOTHING RETURNING 1)
		SELECT pg_notify($4, $1) FROM ins`, kind, key, b, channel)
	if err != nil {
		return fmt.Errorf("enqueue %s %s: %w", kind, key, err)
	}
	return nil
}

// Claim takes the oldest ready job of kind, or returns nil.
func (q *Queue) Claim(ctx context.Context, kind string) (*Job, error) {
	var j Job
	err := q.pool.QueryRow(ctx, `
		UPDATE jobs SET leased_until = now() + $2::interval, attempts = attempts + 1
		WHERE id = (
			SELECT id FROM jobs
			WHERE kind = $1 AND run_after <= now() AND (leased_until IS NULL OR leased_until < now())
			ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
		RETURNING id, kind, key, payload, attempts`, kind, q.lease.String()).
		Scan(&j.ID, &j.Kind, &j.Key, &j.Payload, &j.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", kind, err)
	}
	return &j, nil
}

// Done deletes a finished job. It runs on a fresh context so a job that
// finished while the worker was stopping is still recorded as done.
func (q *Queue) Done(ctx context.Context, j *Job) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := q.pool.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, j.ID)
	return err
}

// Retry releases a failed job to run again after delay.
func (q *Queue) Retry(ctx context.Context, j *Job, cause error, delay time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := q.pool.Exec(ctx, `UPDATE jobs SET leased_until = NULL, run_after = now() + $2::interval,
		last_error = $3 WHERE id = $1`, j.ID, delay.String(), cause.Error())
	return err
}

// Handler runs one job. Returning an error retries it with backoff.
type Handler func(ctx context.Context, j *Job) error

// Work runs n workers for kind until ctx ends. Workers wake on enqueue
// notifications and poll once a second besides, so a lost notification or
// an expired lease only delays a job.
func (q *Queue) Work(ctx context.Context, kind string, n int, fn Handler) {
	go pglisten.Run(ctx, q.pool, channel, func(string) { q.bump() }, q.bump)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { q.worker(ctx, kind, fn) })
	}
	wg.Wait()
}

func (q *Queue) worker(ctx context.Context, kind string, fn Handler) {
	for ctx.Err() == nil {
		wake := q.changed()
		j, err := q.Claim(ctx, kind)
		if err != nil {
			if ctx.Err() == nil {
				slog.WarnContext(ctx, "claim job", "kind", kind, "err", err)
			}
		}
		if j != nil {
			q.run(ctx, j, fn)
			continue
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-time.After(time.Second):
		}
	}
}

func (q *Queue) run(ctx context.Context, j *Job, fn Handler) {
	err := safely(ctx, j, fn)
	if err == nil {
		if err := q.Done(ctx, j); err != nil {
			slog.WarnContext(ctx, "finish job", "kind", j.Kind, "key", j.Key, "err", err)
		}
		return
	}
	delay := min(time.Duration(1<<min(j.Attempts, 10))*100*time.Millisecond, time.Minute)
	slog.WarnContext(ctx, "job failed, retrying", "kind", j.Kind, "key", j.Key, "attempt", j.Attempts, "delay", delay, "err", err)
	if err := q.Retry(ctx, j, err, delay); err != nil {
		slog.WarnContext(ctx, "release job", "kind", j.Kind, "key", j.Key, "err", err)
	}
}

// safely turns a panic into an error: one bad job must not stop a worker.
func safely(ctx context.Context, j *Job, fn Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn(ctx, j)
}

func (q *Queue) changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.wake
}

func (q *Queue) bump() {
	q.mu.Lock()
	close(q.wake)
	q.wake = make(chan struct{})
	q.mu.Unlock()
}
