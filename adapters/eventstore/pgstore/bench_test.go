package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/adapters/eventstore/storetest"
	"github.com/companin/companin/domain/event"
)

// BenchmarkAppendVsInsert measures single-event appends per second with 1
// and 8 concurrent writers, next to a raw single-row INSERT loop into a
// plain table of the same database, and reports the ratio. Each writer
// appends to its own stream with an exact expected version, the common case
// of a command.
func BenchmarkAppendVsInsert(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			s, pool := newStore(b)
			if _, err := pool.Exec(ctx, `CREATE TABLE raw (id uuid PRIMARY KEY, data jsonb NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			per := max(b.N/writers, 1)
			run := func(fn func(w, i int) error) float64 {
				start := time.Now()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Go(func() {
						for i := range per {
							if err := fn(w, i); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				return float64(per*writers) / time.Since(start).Seconds()
			}
			b.ResetTimer()
			raw := run(func(int, int) error {
				_, err := pool.Exec(ctx, `INSERT INTO raw (id, data) VALUES ($1, '{"n":1}')`, uuid.New())
				return err
			})
			streams := make([]string, writers)
			for w := range streams {
				streams[w] = "bench-" + uuid.NewString()
			}
			appends := run(func(w, i int) error {
				_, err := s.Append(ctx, streams[w], event.Exact(int64(i)), []event.Event{storetest.NewEvent("bench", map[string]int{"n": 1})})
				return err
			})
			b.ReportMetric(appends, "appends/s")
			b.ReportMetric(raw, "inserts/s")
			b.ReportMetric(appends/raw, "append/insert")
		})
	}
}
