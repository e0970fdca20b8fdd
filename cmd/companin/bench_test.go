package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/worker/reply"
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

// probe is a responder that reports when the model call would start.
type probe struct{ started chan time.Time }

func (p probe) Respond(_ context.Context, r reply.Request, onDelta func(string) error) (conversation.Reply, error) {
	p.started <- time.Now()
	return conversation.Reply{Content: "ok", Sources: []conversation.Source{}, Responder: "extractive"}, nil
}

// BenchmarkReplyPipelineOverhead measures, with the real router, queue and
// workers, the time from a user message being appended to the responder
// (the model call) starting: log consumer, queue, claim, causal wait,
// thread load, retrieval and prompt inputs. p50/p99.
func BenchmarkReplyPipelineOverhead(b *testing.B) {
	s := startServerTB(b, testConfig())
	p := probe{started: make(chan time.Time, 1)}
	s.app.replies.Responder = p
	ctx := context.Background()
	org := uuid.New()
	m := commands.Meta{OrganizationID: org}
	aid := uuid.New()
	if _, err := commands.NewAssistants(s.app.store, s.app.codec, nil).Create(ctx, m, aid, assistant.Spec{Name: "b", IsActive: true}); err != nil {
		b.Fatal(err)
	}
	threads := commands.NewConversations(s.app.store, s.app.codec, nil)
	sid := uuid.New()
	if _, err := threads.Start(ctx, m, conversation.KindSession, sid, conversation.Started{AssistantID: aid}); err != nil {
		b.Fatal(err)
	}
	lags := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		if _, err := threads.Send(ctx, m, commands.SendMessage{Kind: conversation.KindSession, ThreadID: sid,
			MessageID: uuid.New(), Role: conversation.RoleUser, Content: "where is my parcel"}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		lags = append(lags, (<-p.started).Sub(start))
	}
	b.StopTimer()
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}
