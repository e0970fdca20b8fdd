package projections

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/pglisten"
	"github.com/companin/companin/domain/event"
)

// Progress tracks how far each projection has got, across processes, so a
// request can wait until its own write is visible in the read models.
type Progress struct {
	pool *pgxpool.Pool

	mu     sync.Mutex
	latest map[string]event.Position
	gen    chan struct{} // closed and replaced whenever a checkpoint moves
}

// NewProgress returns a tracker; Run must be running for waits to wake
// promptly (they still poll once a second without it).
func NewProgress(pool *pgxpool.Pool) *Progress {
	return &Progress{pool: pool, latest: map[string]event.Position{}, gen: make(chan struct{})}
}

// Run listens for checkpoint notifications until ctx ends.
func (p *Progress) Run(ctx context.Context) {
	pglisten.Run(ctx, p.pool, CheckpointChannel, func(payload string) {
		name, pos, ok := strings.Cut(payload, " ")
		if !ok {
			return
		}
		if at, err := event.ParsePosition(pos); err == nil {
			p.advance(name, at)
		}
	}, p.bump)
}

func (p *Progress) advance(name string, at event.Position) {
	p.mu.Lock()
	if p.latest[name].Less(at) {
		p.latest[name] = at
	}
	p.mu.Unlock()
	p.bump()
}

func (p *Progress) bump() {
	p.mu.Lock()
	close(p.gen)
	p.gen = make(chan struct{})
	p.mu.Unlock()
}

// Changed returns a channel closed at the next checkpoint movement.
func (p *Progress) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// Reached reports whether projection name has applied position at.
func (p *Progress) Reached(ctx context.Context, name string, at event.Position) (bool, error) {
	p.mu.Lock()
	cur := p.latest[name]
	p.mu.Unlock()
	if !cur.Less(at) {
		return true, nil
	}
	var commit, prepare int64
	err := p.pool.QueryRow(ctx, `SELECT transaction_id::text::bigint, sequence FROM checkpoints WHERE consumer = $1`,
		name).Scan(&commit, &prepare)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	got := event.Position{Commit: uint64(commit), Prepare: uint64(prepare)}
	p.mu.Lock()
	if p.latest[name].Less(got) {
		p.latest[name] = got
	}
	p.mu.Unlock()
	return !got.Less(at), nil
}

// WaitFor blocks until projection name has applied position at, or ctx
// ends (then it returns ctx.Err()).
func (p *Progress) WaitFor(ctx context.Context, name string, at event.Position) error {
	for {
		changed := p.Changed()
		ok, err := p.Reached(ctx, name, at)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}
