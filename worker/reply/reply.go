// Package reply is the reply worker: it consumes user messages from the
// event log and appends the assistant's answer, grounded in the
// organization's knowledge, exactly once per message.
package reply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
)

// Request is everything a responder may use to answer.
type Request struct {
	Question  string
	Locale    string
	Assistant assistant.Spec
	Hits      []projections.Hit
}

// Responder produces a reply. It must be safe for concurrent use.
type Responder interface {
	Respond(ctx context.Context, r Request) (conversation.Reply, error)
}

// Threads loads threads and records replies.
type Threads interface {
	Load(ctx context.Context, m commands.Meta, stream string) (*conversation.Conversation, error)
	Reply(ctx context.Context, m commands.Meta, stream string, to uuid.UUID, r conversation.Reply) (commands.Result, error)
	FailReply(ctx context.Context, m commands.Meta, stream string, to uuid.UUID, reason string) (commands.Result, error)
}

// Assistants loads assistants.
type Assistants interface {
	Load(ctx context.Context, m commands.Meta, id uuid.UUID) (*assistant.Assistant, error)
}

// Retriever finds knowledge passages.
type Retriever interface {
	Search(ctx context.Context, q retrieval.Query) ([]projections.Hit, error)
}

// Progress tells how far a projection has got.
type Progress interface {
	WaitFor(ctx context.Context, name string, at event.Position) error
}

// Worker answers user messages.
type Worker struct {
	codec      *event.Codec
	threads    Threads
	assistants Assistants
	retriever  Retriever
	progress   Progress
	responder  Responder
	// KnowledgeWait bounds how long a message waits for the knowledge
	// projection to catch up with it before the attempt is retried.
	KnowledgeWait time.Duration
}

// New returns a worker; every dependency is required.
func New(codec *event.Codec, threads Threads, assistants Assistants, retriever Retriever, progress Progress, responder Responder) *Worker {
	if codec == nil || threads == nil || assistants == nil || retriever == nil || progress == nil || responder == nil {
		panic("reply: nil dependency")
	}
	return &Worker{codec: codec, threads: threads, assistants: assistants, retriever: retriever,
		progress: progress, responder: responder, KnowledgeWait: 30 * time.Second}
}

// Name is the worker's consumer identity in the log.
const Name = "worker.reply"

// Handle answers e if it is a user message without a reply. Returning an
// error makes the router retry; the reply's derived id keeps retries single.
func (w *Worker) Handle(ctx context.Context, e event.Event) error {
	if e.Type != (conversation.MessageSent{}).EventType() {
		return nil
	}
	p, err := w.codec.Decode(e)
	if err != nil {
		return err
	}
	msg := p.(conversation.MessageSent)
	if msg.Role != conversation.RoleUser.String() {
		return nil
	}
	m := commands.Meta{
		OrganizationID: e.OrganizationID, CorrelationID: e.CorrelationID, CausationID: e.ID, Actor: Name,
	}
	thread, err := w.threads.Load(ctx, m, e.Stream)
	if err != nil {
		return fmt.Errorf("load %s: %w", e.Stream, err)
	}
	if !thread.Has(msg.MessageID) || thread.Replied(msg.MessageID) {
		return nil
	}
	// Causal consistency: knowledge added before the question must be
	// searchable when we answer it.
	wctx, cancel := context.WithTimeout(ctx, w.KnowledgeWait)
	err = w.progress.WaitFor(wctx, projections.Knowledge, e.Position)
	cancel()
	if err != nil {
		return fmt.Errorf("wait for knowledge projection: %w", err)
	}
	started := thread.Started()
	a, err := w.assistants.Load(ctx, m, started.AssistantID)
	if err != nil && !errors.Is(err, commands.ErrNotFound) {
		return err
	}
	var spec assistant.Spec
	if a != nil {
		spec = a.Spec()
	}
	locale := firstNonEmpty(started.Locale, spec.Language, "en")
	hits, err := w.retriever.Search(ctx, retrieval.Query{Org: e.OrganizationID, Assistant: &started.AssistantID,
		Lang: locale, Text: msg.Content, Limit: 5})
	if err != nil {
		return fmt.Errorf("retrieve: %w", err)
	}
	r, err := w.responder.Respond(ctx, Request{Question: msg.Content, Locale: locale, Assistant: spec, Hits: hits})
	if err != nil {
		slog.WarnContext(ctx, "responder failed", "message_id", msg.MessageID, "err", err)
		_, ferr := w.threads.FailReply(ctx, m, e.Stream, msg.MessageID, "the assistant could not answer: "+err.Error())
		return ferr
	}
	_, err = w.threads.Reply(ctx, m, e.Stream, msg.MessageID, r)
	return err
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
