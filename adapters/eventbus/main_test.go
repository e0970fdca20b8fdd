package eventbus_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testDB is one fresh database with its store.
type testDB struct {
	pool  *pgxpool.Pool
	store *pgstore.Store
}

func newTestDB(t *testing.T) *testDB {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 16
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	return &testDB{pool: pool, store: store}
}

// testLogger logs warnings and errors only: the conformance suite nacks on
// purpose and the router logs every retry.
func testLogger() watermill.LoggerAdapter {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return watermill.NewSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}
