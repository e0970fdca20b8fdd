package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/companin/companin/adapters/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestPoolIsMigrated(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.Pool(t)
			if got := count(t, pool, "events"); got != 0 {
				t.Errorf("count(events) = %d, want 0", got)
			}
		})
	}
}

func TestDatabasesAreDistinct(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := pgtest.Pool(t), pgtest.Pool(t)
	if got, other := dbName(t, a), dbName(t, b); got == other {
		t.Fatalf("both pools use database %s, want two", got)
	}
	if _, err := a.Exec(ctx, "INSERT INTO checkpoints (consumer) VALUES ('pgtest')"); err != nil {
		t.Fatal(err)
	}
	if got := count(t, b, "checkpoints"); got != 0 {
		t.Errorf("count(checkpoints) in the other database = %d, want 0", got)
	}
}

// BenchmarkURL measures creating a database; drops happen at the end.
func BenchmarkURL(b *testing.B) {
	for b.Loop() {
		pgtest.URL(b)
	}
}

// TestURLCost logs what a test pays for its database: create plus drop.
func TestURLCost(t *testing.T) {
	const n = 10
	t.Run("warm-up", func(t *testing.T) { pgtest.URL(t) }) // starts the cluster
	start := time.Now()
	for range n {
		t.Run("db", func(t *testing.T) { pgtest.URL(t) })
	}
	t.Logf("URL create+drop: %v per database", time.Since(start)/n)
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func dbName(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}
