// Package conversation holds the aggregate for both anonymous visitor
// sessions and conversations with known customers: a thread of messages
// between a user, the assistant and (later) human agents.
package conversation

import (
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/validation"
)

// Kind tells a visitor session from a customer conversation.
type Kind struct{ s string }

var (
	KindSession      = Kind{"session"}
	KindConversation = Kind{"conversation"}
)

func (k Kind) String() string { return k.s }

// Stream returns the stream id of a thread of kind k.
func Stream(k Kind, id uuid.UUID) string { return k.s + "-" + id.String() }

// Role is who wrote a message.
type Role struct{ s string }

var (
	RoleUser      = Role{"user"}
	RoleAssistant = Role{"assistant"}
	RoleAgent     = Role{"agent"}
)

func (r Role) String() string { return r.s }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleUser, RoleAssistant, RoleAgent} {
		if r.s == s {
			return r, nil
		}
	}
	return Role{}, fmt.Errorf("unknown role %q", s)
}

// Limits on what one thread may hold.
const (
	MaxContent     = 8000  // runes in one message
	MaxMetadata    = 16384 // bytes of JSON metadata
	MaxMessages    = 5000  // messages in one thread
	MaxTitle       = 200
	MaxExternalRef = 200
)

var (
	ErrExists         = errors.New("conversation already exists")
	ErrEnded          = errors.New("conversation has ended")
	ErrTooLong        = errors.New("conversation has too many messages")
	ErrUnknownMessage = errors.New("message is not part of this conversation")
	ErrAlreadyReplied = errors.New("message already has a reply")
)

// Started records a new thread; SessionStarted and ConversationStarted share it.
type Started struct {
	AssistantID   uuid.UUID      `json:"assistant_id"`
	VisitorID     string         `json:"visitor_id,omitempty"`
	CustomerID    string         `json:"customer_id,omitempty"`
	Title         string         `json:"title,omitempty"`
	Locale        string         `json:"locale,omitempty"`
	UserContextID string         `json:"user_context_id,omitempty"`
	Metadata      map[string]any `json:"metadata"`
}

// SessionStarted starts an anonymous visitor session.
type SessionStarted struct{ Started }

// ConversationStarted starts a conversation with a known customer.
type ConversationStarted struct{ Started }

// Source is a piece of knowledge a reply used.
type Source struct {
	KnowledgeID uuid.UUID `json:"knowledge_id"`
	Title       string    `json:"title"`
	Snippet     string    `json:"snippet"`
}

// MessageSent records one message by any role.
type MessageSent struct {
	MessageID  uuid.UUID      `json:"message_id"`
	Role       string         `json:"role"`
	Content    string         `json:"content"`
	Metadata   map[string]any `json:"metadata"`
	ReplyTo    *uuid.UUID     `json:"reply_to,omitempty"`
	Sources    []Source       `json:"sources,omitempty"`
	Answerable *bool          `json:"answerable,omitempty"`
	Responder  string         `json:"responder,omitempty"`
	Model      string         `json:"model,omitempty"`
}

// ReplyFailed records that no reply could be made to a user message.
type ReplyFailed struct {
	ReplyTo uuid.UUID `json:"reply_to"`
	Reason  string    `json:"reason"`
}

// Ended closes the thread to new messages.
type Ended struct {
	Reason string `json:"reason,omitempty"`
}

func (SessionStarted) EventType() string      { return "conversation.session_started" }
func (ConversationStarted) EventType() string { return "conversation.conversation_started" }
func (MessageSent) EventType() string         { return "conversation.message_sent" }
func (ReplyFailed) EventType() string         { return "conversation.reply_failed" }
func (Ended) EventType() string               { return "conversation.ended" }

// Kinds lists this package's events for the codec.
func Kinds() []event.Kind {
	return []event.Kind{
		event.KindOf[SessionStarted](1), event.KindOf[ConversationStarted](1),
		event.KindOf[MessageSent](1), event.KindOf[ReplyFailed](1), event.KindOf[Ended](1),
	}
}

// Conversation is the aggregate.
type Conversation struct {
	event.Recorder
	kind     Kind
	started  Started
	exists   bool
	ended    bool
	messages int
	// pending holds user messages without a reply yet; replied those with one.
	pending map[uuid.UUID]bool
	replied map[uuid.UUID]bool
	ids     map[uuid.UUID]bool
}

// Apply folds an event into the state.
func (c *Conversation) Apply(p event.Payload) {
	switch e := p.(type) {
	case SessionStarted:
		c.start(KindSession, e.Started)
	case ConversationStarted:
		c.start(KindConversation, e.Started)
	case MessageSent:
		c.messages++
		c.ids[e.MessageID] = true
		if e.Role == RoleUser.s {
			c.pending[e.MessageID] = true
		}
		if e.ReplyTo != nil {
			delete(c.pending, *e.ReplyTo)
			c.replied[*e.ReplyTo] = true
		}
	case ReplyFailed:
		delete(c.pending, e.ReplyTo)
	case Ended:
		c.ended = true
	}
}

func (c *Conversation) start(k Kind, s Started) {
	c.kind, c.started, c.exists = k, s, true
	c.pending, c.replied, c.ids = map[uuid.UUID]bool{}, map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
}

func (c *Conversation) record(p event.Payload) { c.Apply(p); c.Record(p) }

// Exists reports whether the thread was started.
func (c *Conversation) Exists() bool { return c.exists }

// Kind tells session from conversation.
func (c *Conversation) Kind() Kind { return c.kind }

// Started returns how the thread began.
func (c *Conversation) Started() Started { return c.started }

// Ended reports whether the thread takes no more messages.
func (c *Conversation) Ended() bool { return c.ended }

// Has reports whether message id belongs to the thread.
func (c *Conversation) Has(id uuid.UUID) bool { return c.ids[id] }

// Replied reports whether user message id has a reply.
func (c *Conversation) Replied(id uuid.UUID) bool { return c.replied[id] }

// Gate is what the assistant aggregate says about new threads.
type Gate interface {
	AcceptsConversations() error
}

// Start begins a thread of kind k for an assistant that accepts it.
func (c *Conversation) Start(k Kind, s Started, assistant Gate) error {
	if c.exists {
		return ErrExists
	}
	var v validation.Checker
	v.Check(s.AssistantID != uuid.Nil, "assistant_id", "is required")
	s.VisitorID = v.Text("visitor_id", s.VisitorID, false, MaxExternalRef)
	s.CustomerID = v.Text("customer_id", s.CustomerID, false, MaxExternalRef)
	s.Title = v.Text("title", s.Title, false, MaxTitle)
	s.Locale = v.Locale("locale", s.Locale)
	s.UserContextID = v.Text("user_context_id", s.UserContextID, false, MaxExternalRef)
	v.Object("metadata", s.Metadata, MaxMetadata)
	if err := v.Err(); err != nil {
		return err
	}
	if err := assistant.AcceptsConversations(); err != nil {
		return err
	}
	if s.Metadata == nil {
		s.Metadata = map[string]any{}
	}
	if k == KindSession {
		c.record(SessionStarted{s})
	} else {
		c.record(ConversationStarted{s})
	}
	return nil
}

// Send records a message from the user (or, later, a human agent).
func (c *Conversation) Send(id uuid.UUID, role Role, content string, metadata map[string]any) error {
	var v validation.Checker
	content = v.Text("content", content, true, MaxContent)
	v.Object("metadata", metadata, MaxMetadata)
	v.Check(role != RoleAssistant, "role", "assistant messages are replies")
	if err := v.Err(); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	c.record(MessageSent{MessageID: id, Role: role.s, Content: content, Metadata: metadata})
	return nil
}

// Reply records the assistant's answer to user message to. A message gets
// exactly one reply or one failure; a second one is ErrAlreadyReplied.
func (c *Conversation) Reply(id, to uuid.UUID, r Reply) error {
	if !c.exists {
		return ErrUnknownMessage
	}
	if !c.ids[to] {
		return ErrUnknownMessage
	}
	if c.replied[to] || !c.pending[to] {
		return ErrAlreadyReplied
	}
	answerable := r.Answerable
	c.record(MessageSent{
		MessageID: id, Role: RoleAssistant.s, Content: r.Content, Metadata: map[string]any{},
		ReplyTo: &to, Sources: r.Sources, Answerable: &answerable, Responder: r.Responder, Model: r.Model,
	})
	return nil
}

// Reply is what a responder produced.
type Reply struct {
	Content    string
	Sources    []Source
	Answerable bool
	Responder  string
	Model      string
}

// FailReply records that user message to will get no reply.
func (c *Conversation) FailReply(to uuid.UUID, reason string) error {
	if !c.ids[to] {
		return ErrUnknownMessage
	}
	if !c.pending[to] {
		return ErrAlreadyReplied
	}
	c.record(ReplyFailed{ReplyTo: to, Reason: reason})
	return nil
}

// End closes the thread; ending twice is a no-op.
func (c *Conversation) End(reason string) error {
	if !c.exists {
		return ErrUnknownMessage
	}
	if !c.ended {
		c.record(Ended{Reason: reason})
	}
	return nil
}

func (c *Conversation) open() error {
	switch {
	case c.ended:
		return ErrEnded
	case c.messages >= MaxMessages:
		return ErrTooLong
	}
	return nil
}
