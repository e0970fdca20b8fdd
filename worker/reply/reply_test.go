package reply_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/embedding"
	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/extractive"
	"github.com/companin/companin/adapters/pgtest"
	"github.com/companin/companin/adapters/replystream"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/catalog"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
	"github.com/companin/companin/worker/reply"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// caughtUp stands in for projection progress: these tests feed the worker
// directly, so there is nothing to wait for.
type caughtUp struct{}

func (caughtUp) WaitFor(context.Context, string, event.Position) error { return nil }

type failing struct{}

func (failing) Respond(context.Context, reply.Request, func(string) error) (conversation.Reply, error) {
	return conversation.Reply{}, errors.New("model unavailable")
}

type env struct {
	store   *pgstore.Store
	codec   *event.Codec
	threads *commands.Conversations
	msg     event.Event
	queries *projections.Queries
	pool    *pgxpool.Pool
}

func setup(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	codec := catalog.Codec()
	m := commands.Meta{OrganizationID: uuid.New()}
	aid := uuid.New()
	if _, err := commands.NewAssistants(store, codec, nil).Create(ctx, m, aid, assistant.Spec{Name: "A", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	threads := commands.NewConversations(store, codec, nil)
	sid := uuid.New()
	if _, err := threads.Start(ctx, m, conversation.KindSession, sid, conversation.Started{AssistantID: aid}); err != nil {
		t.Fatal(err)
	}
	if _, err := threads.Send(ctx, m, commands.SendMessage{Kind: conversation.KindSession, ThreadID: sid,
		MessageID: uuid.New(), Role: conversation.RoleUser, Content: "hello"}); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadStream(ctx, conversation.Stream(conversation.KindSession, sid), 2, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("read message event: %v %v", evs, err)
	}
	return env{store: store, codec: codec, threads: threads, msg: evs[0], queries: projections.NewQueries(pool), pool: pool}
}

func (e env) worker(r reply.Responder) *reply.Worker {
	return reply.New(reply.Deps{
		Codec: e.codec, Threads: e.threads, Assistants: commands.NewAssistants(e.store, e.codec, nil),
		Retriever: retrieval.New(e.pool, e.queries, embedding.Hashing{}), Reader: e.queries,
		Progress: caughtUp{}, Responder: r, Relevant: extractive.Relevant,
		Streams: func(ctx context.Context, msg uuid.UUID) (reply.Stream, error) {
			return replystream.NewPublisher(e.pool).Open(ctx, msg)
		},
	})
}

func (e env) count(t *testing.T, typ string) (replies, failures int) {
	t.Helper()
	evs, err := e.store.ReadStream(context.Background(), e.msg.Stream, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		p, _ := e.codec.Decode(ev)
		switch p := p.(type) {
		case conversation.MessageSent:
			if p.Role == "assistant" {
				replies++
			}
		case conversation.ReplyFailed:
			failures++
		}
	}
	return replies, failures
}

// TestExactlyOneReply delivers the same message to several workers at once
// and again afterwards (a crash before the acknowledgement): one reply.
func TestExactlyOneReply(t *testing.T) {
	e := setup(t)
	w := e.worker(extractive.Responder{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := w.Handle(context.Background(), e.msg); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := w.Handle(context.Background(), e.msg); err != nil {
		t.Fatal(err)
	}
	if replies, failures := e.count(t, ""); replies != 1 || failures != 0 {
		t.Errorf("replies=%d failures=%d, want exactly one reply", replies, failures)
	}
}

// TestResponderFailureRecordsReplyFailed keeps the user's message and
// records why no reply came, once.
func TestResponderFailureRecordsReplyFailed(t *testing.T) {
	e := setup(t)
	w := e.worker(failing{})
	for range 3 {
		if err := w.Handle(context.Background(), e.msg); err != nil {
			t.Fatal(err)
		}
	}
	if replies, failures := e.count(t, ""); replies != 0 || failures != 1 {
		t.Errorf("replies=%d failures=%d, want one ReplyFailed", replies, failures)
	}
}
