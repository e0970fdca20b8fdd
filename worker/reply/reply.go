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

// Turn is one earlier message of the conversation.
type Turn struct {
	Role    string
	Content string
}

// Request is everything a responder may use to answer.
type Request struct {
	Question  string
	Locale    string
	Assistant assistant.Spec
	Traits    map[string]any
	History   []Turn // oldest first, without the question
	Hits      []projections.Hit
	// Answerable is true when some retrieved passage is relevant enough to
	// answer from; responders must not invent an answer when it is false.
	Answerable bool
}

// Responder produces a reply, calling onDelta with each piece of text as
// it is produced. It must be safe for concurrent use.
type Responder interface {
	Respond(ctx context.Context, r Request, onDelta func(string) error) (conversation.Reply, error)
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

// Reader reads the conversation so far and the customer's context.
type Reader interface {
	RecentMessages(ctx context.Context, org, thread uuid.UUID, n int) ([]projections.Message, error)
	UserContext(ctx context.Context, org uuid.UUID, ref string) (projections.UserContext, error)
}

// Progress tells how far a projection has got.
type Progress interface {
	WaitFor(ctx context.Context, name string, at event.Position) error
}

// Stream carries a reply's progress to whoever streams it to the client.
type Stream interface {
	Retrieval(ctx context.Context, sources []conversation.Source, answerable bool) error
	Delta(ctx context.Context, text string) error
	Close()
}

// OpenStream opens the stream of the reply to a message.
type OpenStream func(ctx context.Context, msg uuid.UUID) (Stream, error)

// Relevance decides whether a passage is good enough to answer from.
type Relevance func(projections.Hit) bool

// Deps are the worker's collaborators, all required.
type Deps struct {
	Codec      *event.Codec
	Threads    Threads
	Assistants Assistants
	Retriever  Retriever
	Reader     Reader
	Progress   Progress
	Responder  Responder
	Streams    OpenStream
	Relevant   Relevance
}

// Worker answers user messages.
type Worker struct {
	Deps
	// KnowledgeWait bounds how long a message waits for the knowledge
	// projection to catch up with it before the attempt is retried.
	KnowledgeWait time.Duration
	// HistoryTurns is how many earlier messages a responder may see.
	HistoryTurns int
}

// New returns a worker; every dependency is required.
func New(d Deps) *Worker {
	if d.Codec == nil || d.Threads == nil || d.Assistants == nil || d.Retriever == nil || d.Reader == nil ||
		d.Progress == nil || d.Responder == nil || d.Streams == nil || d.Relevant == nil {
		panic("reply: nil dependency")
	}
	return &Worker{Deps: d, KnowledgeWait: 30 * time.Second, HistoryTurns: 20}
}

// Name is the consumer identity of the reply dispatcher in the log.
const Name = "worker.reply"

// Handle answers e if it is a user message without a reply. Returning an
// error makes the caller retry; the reply's derived id keeps retries single.
func (w *Worker) Handle(ctx context.Context, e event.Event) error {
	if e.Type != (conversation.MessageSent{}).EventType() {
		return nil
	}
	p, err := w.Codec.Decode(e)
	if err != nil {
		return err
	}
	msg := p.(conversation.MessageSent)
	if msg.Role != conversation.RoleUser.String() {
		return nil
	}
	m := commands.Meta{OrganizationID: e.OrganizationID, CorrelationID: e.CorrelationID, CausationID: e.ID, Actor: Name}
	thread, err := w.Threads.Load(ctx, m, e.Stream)
	if err != nil {
		return fmt.Errorf("load %s: %w", e.Stream, err)
	}
	if !thread.Has(msg.MessageID) || thread.Replied(msg.MessageID) {
		return nil
	}
	// Causal consistency: knowledge added before the question must be
	// searchable when we answer it.
	wctx, cancel := context.WithTimeout(ctx, w.KnowledgeWait)
	err = w.Progress.WaitFor(wctx, projections.Knowledge, e.Position)
	cancel()
	if err != nil {
		return fmt.Errorf("wait for knowledge projection: %w", err)
	}
	req, err := w.request(ctx, m, e, thread, msg)
	if err != nil {
		return err
	}
	stream := w.openStream(ctx, msg.MessageID)
	defer stream.Close()
	if err := stream.Retrieval(ctx, sources(req.Hits, w.Relevant), req.Answerable); err != nil {
		slog.DebugContext(ctx, "stream retrieval", "err", err)
	}
	r, err := w.Responder.Respond(ctx, req, func(d string) error {
		if err := stream.Delta(ctx, d); err != nil {
			slog.DebugContext(ctx, "stream delta", "err", err)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		slog.WarnContext(ctx, "responder failed", "message_id", msg.MessageID, "err", err)
		_, ferr := w.Threads.FailReply(ctx, m, e.Stream, msg.MessageID, "the assistant could not answer: "+err.Error())
		return ferr
	}
	_, err = w.Threads.Reply(ctx, m, e.Stream, msg.MessageID, r)
	return err
}

// request gathers what the responder needs.
func (w *Worker) request(ctx context.Context, m commands.Meta, e event.Event, thread *conversation.Conversation, msg conversation.MessageSent) (Request, error) {
	started := thread.Started()
	a, err := w.Assistants.Load(ctx, m, started.AssistantID)
	if err != nil && !errors.Is(err, commands.ErrNotFound) {
		return Request{}, err
	}
	var spec assistant.Spec
	if a != nil {
		spec = a.Spec()
	}
	req := Request{Question: msg.Content, Locale: firstNonEmpty(started.Locale, spec.Language, "en"), Assistant: spec}
	req.Hits, err = w.Retriever.Search(ctx, retrieval.Query{Org: e.OrganizationID, Assistant: &started.AssistantID,
		Lang: req.Locale, Text: msg.Content, Limit: 5})
	if err != nil {
		return Request{}, fmt.Errorf("retrieve: %w", err)
	}
	for _, h := range req.Hits {
		if w.Relevant(h) {
			req.Answerable = true
		}
	}
	threadID := threadID(e.Stream)
	recent, err := w.Reader.RecentMessages(ctx, e.OrganizationID, threadID, w.HistoryTurns+1)
	if err != nil {
		return Request{}, fmt.Errorf("history: %w", err)
	}
	for _, r := range recent {
		if r.ID != msg.MessageID {
			req.History = append(req.History, Turn{Role: r.Role, Content: r.Content})
		}
	}
	if started.UserContextID != "" {
		uc, err := w.Reader.UserContext(ctx, e.OrganizationID, started.UserContextID)
		switch {
		case err == nil:
			req.Traits = uc.Traits
		case !errors.Is(err, projections.ErrNotFound):
			return Request{}, fmt.Errorf("user context: %w", err)
		}
	}
	return req, nil
}

func (w *Worker) openStream(ctx context.Context, msg uuid.UUID) Stream {
	s, err := w.Streams(ctx, msg)
	if err != nil {
		slog.WarnContext(ctx, "open reply stream", "err", err)
		return noStream{}
	}
	return s
}

// sources are the relevant hits as a reply cites them.
func sources(hits []projections.Hit, relevant Relevance) []conversation.Source {
	out := []conversation.Source{}
	for _, h := range hits {
		if relevant(h) && len(out) < 3 {
			out = append(out, conversation.Source{KnowledgeID: h.KnowledgeID, Title: h.Title, Snippet: h.Snippet})
		}
	}
	return out
}

// Sources returns the relevant hits of r as a reply cites them, so every
// responder cites the same way the stream announced.
func Sources(r Request, relevant Relevance) []conversation.Source { return sources(r.Hits, relevant) }

func threadID(stream string) uuid.UUID {
	i := strings.IndexByte(stream, '-')
	id, _ := uuid.Parse(stream[i+1:])
	return id
}

type noStream struct{}

func (noStream) Retrieval(context.Context, []conversation.Source, bool) error { return nil }
func (noStream) Delta(context.Context, string) error                          { return nil }
func (noStream) Close()                                                       {}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
