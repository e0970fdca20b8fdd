package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/companin/companin/adapters/replystream"
	"github.com/companin/companin/domain/conversation"
)

// wantsStream reports whether the client asked for Server-Sent Events.
func wantsStream(c echo.Context) bool {
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/event-stream")
}

// streamReply answers a sent message as Server-Sent Events: "message" (the
// stored user message), "retrieval" (sources and whether they answer the
// question, before any text), "delta" (text as the model produces it),
// then "reply" (the stored reply, which is authoritative: a client replaces
// the streamed text with it) or "failed", and finally "done". Past the
// reply wait it sends "pending" instead and ends. The updates come from the
// worker through PostgreSQL, so it may run in another process.
func (s *Server) streamReply(c echo.Context, org, msgID uuid.UUID, updates <-chan replystream.Update) error {
	ctx := c.Request().Context()
	stored, err := s.sentMessage(ctx, org, msgID)
	if err != nil {
		return err
	}
	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // keep proxies from buffering the stream
	w.WriteHeader(http.StatusOK)
	send := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	if err := send("message", stored.Message); err != nil {
		return nil
	}
	var (
		order        replystream.Ordered
		retrievalOut bool
		deadline     = time.NewTimer(s.cfg.ReplyWait)
		ping         = time.NewTicker(15 * time.Second)
	)
	defer deadline.Stop()
	defer ping.Stop()
	emit := func(u replystream.Update) {
		for _, u := range order.Add(u) {
			switch u.Kind {
			case "retrieval":
				retrievalOut = true
				sources := u.Sources
				if sources == nil {
					sources = []conversation.Source{}
				}
				send("retrieval", map[string]any{"sources": sources, "answerable": u.Answerable})
			case "delta":
				if retrievalOut {
					send("delta", map[string]any{"content": u.Delta})
				}
			}
		}
	}
	for {
		changed := s.Progress.Changed()
		out, err := s.sentMessage(ctx, org, msgID)
		if err != nil {
			return nil // the stream has started: the client sees it end
		}
		if out.ReplyStatus == "completed" {
			// Updates come through another connection than the progress
			// that announced the reply: give those still in flight a moment
			// to arrive, so the stream is not coarser than it must be.
			grace := time.NewTimer(100 * time.Millisecond)
		drain:
			for {
				select {
				case u := <-updates:
					emit(u)
					grace.Reset(100 * time.Millisecond)
				case <-grace.C:
					break drain
				}
			}
			grace.Stop()
		}
		switch out.ReplyStatus {
		case "completed":
			if !retrievalOut {
				send("retrieval", map[string]any{"sources": out.Reply.Sources, "answerable": out.Reply.Answerable != nil && *out.Reply.Answerable})
			}
			send("reply", out.Reply)
			send("done", map[string]any{"id": msgID})
			return nil
		case "failed":
			send("failed", map[string]any{"id": msgID, "reason": out.ReplyError})
			send("done", map[string]any{"id": msgID})
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			send("pending", map[string]any{"id": msgID, "reply_status": "pending"})
			return nil
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			w.Flush()
		case <-changed:
		case u := <-updates:
			emit(u)
		}
	}
}

// subscribeReply starts listening for the reply's updates before the
// message is appended, so none are missed.
func (s *Server) subscribeReply(msgID uuid.UUID) (<-chan replystream.Update, func()) {
	if s.Streams == nil {
		return nil, func() {}
	}
	return s.Streams.Subscribe(msgID)
}
