package pgstore

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/companin/companin/adapters/pglisten"
	"github.com/companin/companin/domain/event"
)

// Tail calls fn with every event after from, in global order and in batches,
// first catching up and then following new appends, until ctx ends or fn
// fails. fn's error is returned as is; a cancelled ctx returns ctx.Err().
//
// Appends wake tails through LISTEN/NOTIFY. An event can be committed but not
// yet readable while an older transaction is still running; the notification
// carries the committer's transaction id so the tail knows it is behind and
// re-reads with a short backoff until it passes it.
func (s *Store) Tail(ctx context.Context, from event.Position, batch int, fn func(context.Context, []event.Event) error) error {
	s.listenOnce.Do(func() { go s.listen(s.stopped) })
	if batch <= 0 {
		batch = 256
	}
	wake, unsubscribe := s.wake.subscribe()
	defer unsubscribe()

	pos := from
	backoff := time.Duration(0)
	for {
		evs, err := s.ReadAll(ctx, pos, batch)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			slog.WarnContext(ctx, "event tail read failed, retrying", "err", err)
			if !sleep(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		if len(evs) > 0 {
			if err := fn(ctx, evs); err != nil {
				return err
			}
			pos = evs[len(evs)-1].Position
			backoff = 0
			continue
		}
		var wait time.Duration
		if s.wake.latest() > pos.Commit {
			// Something committed that we cannot see yet: poll soon.
			backoff = min(max(2*backoff, time.Millisecond), 50*time.Millisecond)
			wait = backoff
		} else {
			// Idle. The safety poll only matters if a notification is lost
			// while the listener reconnects.
			backoff = 0
			wait = 2 * time.Second
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-time.After(wait):
		}
	}
}

// listen holds one connection per store in LISTEN and fans notifications out
// to every tail. After a reconnect it wakes everybody, because notifications
// may have been missed meanwhile.
func (s *Store) listen(ctx context.Context) {
	pglisten.Run(ctx, s.pool, channel, func(payload string) {
		txid, err := strconv.ParseUint(payload, 10, 64)
		if err != nil {
			txid = 0
		}
		s.wake.notify(txid)
	}, func() { s.wake.notify(0) })
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// broadcaster wakes every subscriber without blocking the notifier; a
// subscriber that is busy just finds its single-slot channel already full.
type broadcaster struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
	max  atomic.Uint64 // highest committed transaction id announced
}

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[chan struct{}]struct{}{}}
}

func (b *broadcaster) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *broadcaster) notify(txid uint64) {
	for {
		cur := b.max.Load()
		if txid <= cur || b.max.CompareAndSwap(cur, txid) {
			break
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (b *broadcaster) latest() uint64 { return b.max.Load() }
