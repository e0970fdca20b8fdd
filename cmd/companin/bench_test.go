package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/projections"
)

// BenchmarkAppendToProjectionLag measures, with the real router running,
// the time from an append returning to its projection having applied it
// (what a client's read-your-writes wait costs), as p50 and p99.
func BenchmarkAppendToProjectionLag(b *testing.B) {
	cfg := testConfig()
	s := startServerTB(b, cfg)
	ctx := context.Background()
	org := uuid.New()
	h := commands.NewAssistants(s.app.store, s.app.codec, nil)
	lags := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		m := commands.Meta{OrganizationID: org}
		res, err := h.Create(ctx, m, uuid.New(), assistant.Spec{Name: "bench", IsActive: true})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := s.app.progress.WaitFor(ctx, projections.Assistants, res.Position); err != nil {
			b.Fatal(err)
		}
		lags = append(lags, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}
