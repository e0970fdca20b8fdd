package conversation

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/companin/companin/domain/validation"
)

type gate struct{ err error }

func (g gate) AcceptsConversations() error { return g.err }

func started(t *testing.T) *Conversation {
	t.Helper()
	var c Conversation
	if err := c.Start(KindSession, Started{AssistantID: uuid.New(), Locale: "en"}, gate{}); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestStart(t *testing.T) {
	closed := errors.New("closed")
	tests := []struct {
		name string
		s    Started
		g    gate
		want error
	}{
		{"ok", Started{AssistantID: uuid.New()}, gate{}, nil},
		{"no assistant", Started{}, gate{}, validation.ErrInvalid},
		{"assistant refuses", Started{AssistantID: uuid.New()}, gate{closed}, closed},
		{"bad locale", Started{AssistantID: uuid.New(), Locale: "???"}, gate{}, validation.ErrInvalid},
		{"huge metadata", Started{AssistantID: uuid.New(), Metadata: map[string]any{"x": strings.Repeat("a", MaxMetadata)}}, gate{}, validation.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Conversation
			err := c.Start(KindSession, tt.s, tt.g)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Errorf("Start = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMessagesAndReplies(t *testing.T) {
	c := started(t)
	q := uuid.New()
	if err := c.Send(q, RoleUser, "  hello  ", nil); err != nil {
		t.Fatal(err)
	}
	if got := c.Changes()[1].(MessageSent).Content; got != "hello" {
		t.Errorf("content = %q, want trimmed", got)
	}
	for name, content := range map[string]string{"blank": " ", "too long": strings.Repeat("x", MaxContent+1), "bad utf8": "\xff"} {
		if err := c.Send(uuid.New(), RoleUser, content, nil); !errors.Is(err, validation.ErrInvalid) {
			t.Errorf("%s content: %v", name, err)
		}
	}
	if err := c.Reply(uuid.New(), uuid.New(), Reply{Content: "?"}); !errors.Is(err, ErrUnknownMessage) {
		t.Errorf("reply to unknown message: %v", err)
	}
	if err := c.Reply(uuid.New(), q, Reply{Content: "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(uuid.New(), q, Reply{Content: "again"}); !errors.Is(err, ErrAlreadyReplied) {
		t.Errorf("second reply: %v", err)
	}
	if err := c.FailReply(q, "late"); !errors.Is(err, ErrAlreadyReplied) {
		t.Errorf("failure after reply: %v", err)
	}
	if !c.Replied(q) {
		t.Error("Replied = false")
	}
	if err := c.End("done"); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(uuid.New(), RoleUser, "still there?", nil); !errors.Is(err, ErrEnded) {
		t.Errorf("send after end: %v", err)
	}
}

func TestFailReplyOnce(t *testing.T) {
	c := started(t)
	q := uuid.New()
	if err := c.Send(q, RoleUser, "hi", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.FailReply(q, "down"); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(uuid.New(), q, Reply{}); !errors.Is(err, ErrAlreadyReplied) {
		t.Errorf("reply after failure: %v", err)
	}
}
