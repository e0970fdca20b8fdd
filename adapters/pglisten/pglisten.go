// Package pglisten keeps one PostgreSQL connection in LISTEN on a channel and
// hands each notification to a callback, reconnecting for as long as the
// context lives.
package pglisten

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Run listens on channel until ctx ends. fn gets every payload; connected is
// called after each (re)connection, because notifications sent while the
// connection was down are lost and callers must re-read what they track.
func Run(ctx context.Context, pool *pgxpool.Pool, channel string, fn func(payload string), connected func()) {
	for ctx.Err() == nil {
		err := listen(ctx, pool, channel, fn, connected)
		if ctx.Err() != nil {
			return
		}
		slog.WarnContext(ctx, "listener lost, reconnecting", "channel", channel, "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func listen(ctx context.Context, pool *pgxpool.Pool, channel string, fn func(string), connected func()) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listener connection: %w", err)
	}
	// A connection in LISTEN state must never go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	if connected != nil {
		connected()
	}
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
