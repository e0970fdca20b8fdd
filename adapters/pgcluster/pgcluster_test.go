package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/companin/companin/adapters/pgcluster"
	"github.com/jackc/pgx/v5"
)

// TestRestartKeepsData covers `make run` twice in a row: the second Start
// finds the first server still running, restarts it, and the data survives.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")

	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	exec(t, c.URL("postgres"), "CREATE TABLE kept (id int)")

	again, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true})
	if err != nil {
		t.Fatalf("second Start on a running dir: %v", err)
	}
	exec(t, again.URL("postgres"), "SELECT * FROM kept")

	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := again.Stop(); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
}

func TestEphemeralStopDeletesDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	c, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir, Fast: true, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	exec(t, c.URL("postgres"), "SELECT 1")
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(%s) after Stop = %v, want not exist", dir, err)
	}
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
