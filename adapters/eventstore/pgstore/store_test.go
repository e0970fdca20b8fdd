package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/eventstore/storetest"
	"github.com/companin/companin/adapters/pgtest"
	"github.com/companin/companin/domain/event"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t testing.TB) (*pgstore.Store, *pgxpool.Pool) {
	pool := pgtest.Pool(t)
	s := pgstore.New(pool)
	t.Cleanup(s.Close)
	return s, pool
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, _ := newStore(t)
		return s
	})
}

// TestSlowTransactionHoldsBackReaders shows why the log is read below the
// oldest running transaction: an append that commits while an older
// transaction is still open must stay invisible until that one settles, or a
// reader would move past the older one's events and never see them.
func TestSlowTransactionHoldsBackReaders(t *testing.T) {
	for _, outcome := range []string{"commit", "rollback"} {
		t.Run(outcome, func(t *testing.T) {
			ctx := context.Background()
			s, pool := newStore(t)
			slow, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer slow.Rollback(ctx)
			if _, err := slow.Exec(ctx, `INSERT INTO events (event_id, stream_id, version, event_type, data, recorded_at)
				VALUES (gen_random_uuid(), 'slow', 1, 'slow', '{}', now())`); err != nil {
				t.Fatal(err)
			}
			fast := storetest.NewEvent("fast", nil)
			if _, err := s.Append(ctx, "fast", event.NoStream(), []event.Event{fast}); err != nil {
				t.Fatal(err)
			}
			got, err := s.ReadAll(ctx, event.Start, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Fatalf("read %d events while an older transaction is open, want 0", len(got))
			}
			want := []string{"fast"}
			if outcome == "commit" {
				if err := slow.Commit(ctx); err != nil {
					t.Fatal(err)
				}
				want = []string{"slow", "fast"}
			} else if err := slow.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			// Other tests' transactions in the cluster may hold the log back
			// a moment longer.
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, err = s.ReadAll(ctx, event.Start, 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) >= len(want) || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			var types []string
			for _, e := range got {
				types = append(types, e.Type)
			}
			if len(types) != len(want) || types[0] != want[0] {
				t.Errorf("after %s read %v, want %v", outcome, types, want)
			}
		})
	}
}
