package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
)

// Conversations handles session and conversation commands.
type Conversations struct {
	repo       repo
	assistants *Assistants
}

// NewConversations returns the session and conversation command handlers.
func NewConversations(store EventStore, codec *event.Codec, now func() time.Time) *Conversations {
	return &Conversations{repo: newRepo(store, codec, now), assistants: NewAssistants(store, codec, now)}
}

func freshConversation() aggregate { return &conversation.Conversation{} }

// Start begins a session or conversation with id for s.AssistantID.
func (h *Conversations) Start(ctx context.Context, m Meta, kind conversation.Kind, id uuid.UUID, s conversation.Started) (Result, error) {
	var gate conversation.Gate = &assistant.Assistant{}
	if s.AssistantID != uuid.Nil {
		a, err := h.assistants.Load(ctx, m, s.AssistantID)
		switch {
		case errors.Is(err, ErrNotFound):
			return Result{}, fmt.Errorf("assistant %s: %w", s.AssistantID, ErrAssistantNotFound)
		case err != nil:
			return Result{}, err
		}
		gate = a
	}
	res, err := h.repo.execute(ctx, m, conversation.Stream(kind, id), freshConversation, func(a aggregate, _ bool) error {
		return a.(*conversation.Conversation).Start(kind, s, gate)
	})
	res.ID = id
	return res, err
}

// ErrAssistantNotFound is returned when a thread names an assistant the
// organization does not have: the request is wrong, not its target.
var ErrAssistantNotFound = errors.New("assistant not found")

// SendMessage is a message from the user (or a human agent) to thread ID.
type SendMessage struct {
	Kind      conversation.Kind
	ThreadID  uuid.UUID
	MessageID uuid.UUID
	Role      conversation.Role
	Content   string
	Metadata  map[string]any
}

// Send appends a message to a thread.
func (h *Conversations) Send(ctx context.Context, m Meta, c SendMessage) (Result, error) {
	res, err := h.repo.execute(ctx, m, conversation.Stream(c.Kind, c.ThreadID), freshConversation, func(a aggregate, _ bool) error {
		cv := a.(*conversation.Conversation)
		if !cv.Exists() {
			return ErrNotFound
		}
		return cv.Send(c.MessageID, c.Role, c.Content, c.Metadata)
	})
	res.ID = c.MessageID
	return res, err
}

// ReplyID is the id of the assistant's reply to user message to. It is
// derived, so every attempt at the same reply appends the same event id and
// the store keeps exactly one.
func ReplyID(to uuid.UUID) uuid.UUID { return uuid.NewSHA1(to, []byte("reply")) }

// Reply appends the assistant's reply to message to in a thread. A reply
// that already exists is success: workers retry.
func (h *Conversations) Reply(ctx context.Context, m Meta, stream string, to uuid.UUID, r conversation.Reply) (Result, error) {
	m.IdempotencyKey = "reply:" + to.String()
	id := ReplyID(to)
	res, err := h.repo.execute(ctx, m, stream, freshConversation, func(a aggregate, _ bool) error {
		return a.(*conversation.Conversation).Reply(id, to, r)
	})
	if errors.Is(err, conversation.ErrAlreadyReplied) {
		return Result{ID: id, Replayed: true}, nil
	}
	res.ID = id
	return res, err
}

// FailReply records that message to will get no reply.
func (h *Conversations) FailReply(ctx context.Context, m Meta, stream string, to uuid.UUID, reason string) (Result, error) {
	m.IdempotencyKey = "reply:" + to.String()
	res, err := h.repo.execute(ctx, m, stream, freshConversation, func(a aggregate, _ bool) error {
		return a.(*conversation.Conversation).FailReply(to, reason)
	})
	if errors.Is(err, conversation.ErrAlreadyReplied) {
		return Result{Replayed: true}, nil
	}
	return res, err
}

// End closes a thread.
func (h *Conversations) End(ctx context.Context, m Meta, kind conversation.Kind, id uuid.UUID, reason string) (Result, error) {
	res, err := h.repo.execute(ctx, m, conversation.Stream(kind, id), freshConversation, func(a aggregate, _ bool) error {
		cv := a.(*conversation.Conversation)
		if !cv.Exists() {
			return ErrNotFound
		}
		return cv.End(reason)
	})
	res.ID = id
	return res, err
}

// Load returns a thread as the event store has it.
func (h *Conversations) Load(ctx context.Context, m Meta, stream string) (*conversation.Conversation, error) {
	c := &conversation.Conversation{}
	l, err := h.repo.load(ctx, m, stream, c)
	if err != nil {
		return nil, err
	}
	if !l.exists {
		return nil, ErrNotFound
	}
	return c, nil
}
