package httpapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/companin/companin/adapters/replystream"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/projections"
)

type sessionRequest struct {
	AssistantID string         `json:"assistant_id"`
	VisitorID   string         `json:"visitor_id"`
	Locale      string         `json:"locale"`
	Metadata    map[string]any `json:"metadata"`
}

type conversationRequest struct {
	AssistantID   string         `json:"assistant_id"`
	CustomerID    string         `json:"customer_id"`
	Title         string         `json:"title"`
	Locale        string         `json:"locale"`
	UserContextID string         `json:"user_context_id"`
	Metadata      map[string]any `json:"metadata"`
}

type messageRequest struct {
	Content  string         `json:"content"`
	Metadata map[string]any `json:"metadata"`
}

func (s *Server) startSession(c echo.Context) error {
	var req sessionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	aid, err := parseUUIDField("assistant_id", req.AssistantID, true)
	if err != nil {
		return err
	}
	if p := principalOf(c); p.Widget {
		if p.AssistantID != nil && *p.AssistantID != *aid {
			return errWrongAssistant
		}
		// The session remembers the token's visitor binding in its
		// SessionStarted event, so ownership survives restarts and
		// projection rebuilds; whatever the caller put there is replaced.
		md := make(map[string]any, len(req.Metadata)+1)
		maps.Copy(md, req.Metadata)
		md[visitorMetadataKey] = p.Visitor
		req.Metadata = md
	}
	return s.startThread(c, conversation.KindSession, conversation.Started{
		AssistantID: *aid, VisitorID: req.VisitorID, Locale: req.Locale, Metadata: req.Metadata,
	}, "Session created")
}

// visitorMetadataKey is the session metadata entry holding the visitor
// binding of the widget token that started it.
const visitorMetadataKey = "widget_visitor"

// ownThread lets a widget token reach only the sessions started with its
// visitor binding; any other answers 404, exactly like a session that does
// not exist, so ids cannot be probed. API keys reach every thread of their
// organization.
func (s *Server) ownThread(c echo.Context, kind conversation.Kind, id uuid.UUID) error {
	p := principalOf(c)
	if !p.Widget {
		return nil
	}
	t, err := s.Queries.Thread(c.Request().Context(), p.OrganizationID, kind, id)
	if err != nil {
		return err
	}
	if v, _ := t.Metadata[visitorMetadataKey].(string); v == "" || v != p.Visitor {
		return errNotFound
	}
	return nil
}

func (s *Server) startConversation(c echo.Context) error {
	var req conversationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	aid, err := parseUUIDField("assistant_id", req.AssistantID, true)
	if err != nil {
		return err
	}
	return s.startThread(c, conversation.KindConversation, conversation.Started{
		AssistantID: *aid, CustomerID: req.CustomerID, Title: req.Title, Locale: req.Locale,
		UserContextID: req.UserContextID, Metadata: req.Metadata,
	}, "Conversation created")
}

func (s *Server) startThread(c echo.Context, kind conversation.Kind, st conversation.Started, detail string) error {
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	id := commands.NewID(m, kind.String())
	res, err := s.Conversations.Start(ctx, m, kind, id, st)
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Threads, res); err != nil {
		return err
	}
	t, err := s.Queries.Thread(ctx, m.OrganizationID, kind, id)
	if err != nil {
		return err
	}
	return created(c, detail, t)
}

func (s *Server) getSession(c echo.Context) error {
	return s.getThread(c, conversation.KindSession, "Session retrieved")
}

func (s *Server) getConversation(c echo.Context) error {
	return s.getThread(c, conversation.KindConversation, "Conversation retrieved")
}

func (s *Server) getThread(c echo.Context, kind conversation.Kind, detail string) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.ownThread(c, kind, id); err != nil {
		return err
	}
	t, err := s.Queries.Thread(c.Request().Context(), principalOf(c).OrganizationID, kind, id)
	if err != nil {
		return err
	}
	return ok(c, detail, t)
}

func (s *Server) listConversations(c echo.Context) error {
	limit, cursor, err := listParams(c)
	if err != nil {
		return err
	}
	page, err := s.Queries.Threads(c.Request().Context(), principalOf(c).OrganizationID,
		conversation.KindConversation, c.QueryParam("customer_id"), limit, cursor)
	if err != nil {
		return err
	}
	return ok(c, "Conversations retrieved", page)
}

func (s *Server) listSessionMessages(c echo.Context) error {
	return s.listMessages(c, conversation.KindSession)
}

func (s *Server) listConversationMessages(c echo.Context) error {
	return s.listMessages(c, conversation.KindConversation)
}

func (s *Server) listMessages(c echo.Context, kind conversation.Kind) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	limit, cursor, err := listParams(c)
	if err != nil {
		return err
	}
	ctx, org := c.Request().Context(), principalOf(c).OrganizationID
	if _, err := s.Queries.Thread(ctx, org, kind, id); err != nil {
		return err
	}
	if err := s.ownThread(c, kind, id); err != nil {
		return err
	}
	page, err := s.Queries.Messages(ctx, org, id, limit, cursor)
	if err != nil {
		return err
	}
	return ok(c, "Messages retrieved", page)
}

// sentMessage is the answer to sending a message: the stored user message
// with the assistant's reply once there is one.
type sentMessage struct {
	projections.Message
	Reply *projections.Message `json:"reply"`
}

// MarshalJSON adds the reply to the user message's own fields (the
// embedded message has a MarshalJSON of its own, which would otherwise
// swallow the reply).
func (m sentMessage) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(m.Message)
	if err != nil {
		return nil, err
	}
	reply, err := json.Marshal(m.Reply)
	if err != nil {
		return nil, err
	}
	return append(append(append(base[:len(base)-1], `,"reply":`...), reply...), '}'), nil
}

func (s *Server) sendSessionMessage(c echo.Context) error {
	return s.sendMessage(c, conversation.KindSession)
}

func (s *Server) sendConversationMessage(c echo.Context) error {
	return s.sendMessage(c, conversation.KindConversation)
}

func (s *Server) sendMessage(c echo.Context, kind conversation.Kind) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	var req messageRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.ownThread(c, kind, id); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	msgID := commands.NewID(m, "message:"+id.String())
	stream := wantsStream(c)
	var updates <-chan replystream.Update
	if stream {
		var unsubscribe func()
		updates, unsubscribe = s.subscribeReply(msgID)
		defer unsubscribe()
	}
	res, err := s.Conversations.Send(ctx, m, commands.SendMessage{
		Kind: kind, ThreadID: id, MessageID: msgID, Role: conversation.RoleUser,
		Content: req.Content, Metadata: req.Metadata,
	})
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Threads, res); err != nil {
		return err
	}
	if stream {
		return s.streamReply(c, m.OrganizationID, msgID, updates)
	}
	out, err := s.awaitReply(ctx, m.OrganizationID, msgID)
	if err != nil {
		return err
	}
	if out.ReplyStatus == "pending" {
		return respond(c, http.StatusAccepted, "Message sent - the reply is pending", out)
	}
	return created(c, "Message sent", out)
}

// awaitReply returns the user message with its reply, waiting for the
// reply worker up to the configured bound; past it the reply is pending.
func (s *Server) awaitReply(ctx context.Context, org, msgID uuid.UUID) (sentMessage, error) {
	deadline := time.Now().Add(s.cfg.ReplyWait)
	for {
		changed := s.Progress.Changed()
		out, err := s.sentMessage(ctx, org, msgID)
		if err != nil || out.ReplyStatus != "pending" {
			return out, err
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return sentMessage{}, ctx.Err()
		case <-changed:
		case <-time.After(min(wait, time.Second)):
		}
	}
}

func (s *Server) sentMessage(ctx context.Context, org, msgID uuid.UUID) (sentMessage, error) {
	msg, err := s.Queries.Message(ctx, org, msgID)
	if err != nil {
		return sentMessage{}, err
	}
	out := sentMessage{Message: msg}
	if msg.ReplyStatus == "completed" {
		r, err := s.Queries.ReplyTo(ctx, org, msgID)
		if err != nil {
			return sentMessage{}, err
		}
		out.Reply = &r
	}
	return out, nil
}

func (s *Server) endSession(c echo.Context) error {
	return s.endThread(c, conversation.KindSession, "Session ended")
}

func (s *Server) endConversation(c echo.Context) error {
	return s.endThread(c, conversation.KindConversation, "Conversation ended")
}

func (s *Server) endThread(c echo.Context, kind conversation.Kind, detail string) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.ownThread(c, kind, id); err != nil {
		return err
	}
	m, err := s.meta(c)
	if err != nil {
		return err
	}
	res, err := s.Conversations.End(c.Request().Context(), m, kind, id, "ended by client")
	if err != nil {
		return err
	}
	if err := s.visible(c, projections.Threads, res); err != nil {
		return err
	}
	t, err := s.Queries.Thread(c.Request().Context(), m.OrganizationID, kind, id)
	if err != nil {
		return err
	}
	return ok(c, detail, t)
}
