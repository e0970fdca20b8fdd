package pgqueue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/companin/companin/adapters/pgqueue"
	"github.com/companin/companin/adapters/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestEachJobRunsOnceAcrossWorkers runs several "processes" (queues on one
// database) with several workers each: every job runs exactly once, and
// enqueueing a key twice queues it once.
func TestEachJobRunsOnceAcrossWorkers(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const jobs = 200
	q := pgqueue.New(pool, time.Minute)
	for i := range jobs {
		for range 2 {
			if err := q.Enqueue(ctx, "test", fmt.Sprint(i), map[string]int{"i": i}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	runs := map[string]int{}
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 3 {
		p := pgqueue.New(pool, time.Minute)
		wg.Go(func() {
			p.Work(ctx, "test", 4, func(_ context.Context, j *pgqueue.Job) error {
				mu.Lock()
				runs[j.Key]++
				mu.Unlock()
				if total.Add(1) == jobs {
					cancel()
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range jobs {
		if n := runs[fmt.Sprint(i)]; n != 1 {
			t.Errorf("job %d ran %d times", i, n)
		}
	}
}

func TestFailedJobIsRetriedAndExpiredLeaseIsReclaimed(t *testing.T) {
	pool := pgtest.Pool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := pgqueue.New(pool, 200*time.Millisecond)
	if err := q.Enqueue(ctx, "flaky", "k", nil); err != nil {
		t.Fatal(err)
	}
	// A worker that claims and dies: the lease expires and another takes it.
	j, err := q.Claim(ctx, "flaky")
	if err != nil || j == nil {
		t.Fatalf("claim: %v %v", j, err)
	}
	if again, _ := q.Claim(ctx, "flaky"); again != nil {
		t.Fatal("a leased job was claimed twice")
	}
	var attempts atomic.Int32
	q.Work(ctx, "flaky", 2, func(_ context.Context, j *pgqueue.Job) error {
		if attempts.Add(1) < 3 {
			return errors.New("not yet")
		}
		if j.Attempts != 4 {
			t.Errorf("attempts = %d, want 4 (one dead claim, two failures, this one)", j.Attempts)
		}
		cancel()
		return nil
	})
	var left int
	pool.QueryRow(context.Background(), `SELECT count(*) FROM jobs`).Scan(&left)
	if left != 0 {
		t.Errorf("%d jobs left", left)
	}
}
