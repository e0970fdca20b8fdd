// Package replystream carries a reply's progress (its retrieval result and
// its tokens as the model produces them) from the worker making it to the
// API process streaming it to the client, through PostgreSQL NOTIFY, so the
// two may be different processes. The stored reply event stays the source
// of truth; a lost notification only makes the stream coarser.
package replystream

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/pglisten"
	"github.com/companin/companin/domain/conversation"
)

const channel = "companin_reply_stream"

// maxPayload keeps notifications under PostgreSQL's 8000-byte limit.
const maxPayload = 7000

// Update is one step of a reply in progress.
type Update struct {
	MessageID  uuid.UUID             `json:"m"`
	Kind       string                `json:"k"` // "retrieval" or "delta"
	Seq        int                   `json:"n"`
	Delta      string                `json:"d,omitempty"`
	Sources    []conversation.Source `json:"s,omitempty"`
	Answerable bool                  `json:"a,omitempty"`
}

// Publisher sends updates.
type Publisher struct{ pool *pgxpool.Pool }

// NewPublisher returns a publisher over pool.
func NewPublisher(pool *pgxpool.Pool) *Publisher { return &Publisher{pool: pool} }

// Stream is one reply's update channel. Updates are numbered (retrieval
// 0, deltas from 1) because notifications sent over different pooled
// connections may arrive out of order; receivers put them back in order.
type Stream struct {
	pool *pgxpool.Pool
	msg  uuid.UUID
	seq  int
}

// Open starts the stream of the reply to message msg. It holds no
// connection: a worker waiting on the model must not pin one.
func (p *Publisher) Open(_ context.Context, msg uuid.UUID) (*Stream, error) {
	return &Stream{pool: p.pool, msg: msg}, nil
}

// Retrieval announces what the reply will be grounded in.
func (s *Stream) Retrieval(ctx context.Context, sources []conversation.Source, answerable bool) error {
	for {
		u := Update{MessageID: s.msg, Kind: "retrieval", Sources: sources, Answerable: answerable}
		b, _ := json.Marshal(u)
		if len(b) <= maxPayload || len(sources) == 0 {
			return s.send(ctx, b)
		}
		// Too big for one notification: shorten snippets, then drop sources.
		sources = shorten(sources)
	}
}

// Delta sends the next piece of the reply's text.
func (s *Stream) Delta(ctx context.Context, text string) error {
	for len(text) > 0 {
		part := text
		if len(part) > maxPayload/2 {
			cut := maxPayload / 2
			for cut > 0 && !utf8.RuneStart(text[cut]) { // never split a UTF-8 sequence
				cut--
			}
			part = text[:cut]
		}
		text = text[len(part):]
		s.seq++
		b, _ := json.Marshal(Update{MessageID: s.msg, Kind: "delta", Seq: s.seq, Delta: part})
		if err := s.send(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// Close ends the stream.
func (s *Stream) Close() {}

func (s *Stream) send(ctx context.Context, payload []byte) error {
	if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, string(payload)); err != nil {
		return fmt.Errorf("reply stream: %w", err)
	}
	return nil
}

// Ordered puts a subscription's updates back in sequence order, holding
// back any that arrive early.
type Ordered struct {
	next    int
	pending map[int]Update
}

// Add takes an update and returns those now in order.
func (o *Ordered) Add(u Update) []Update {
	if o.pending == nil {
		o.pending = map[int]Update{}
	}
	if u.Seq < o.next {
		return nil // a duplicate
	}
	o.pending[u.Seq] = u
	var out []Update
	for {
		n, ok := o.pending[o.next]
		if !ok {
			return out
		}
		delete(o.pending, o.next)
		o.next++
		out = append(out, n)
	}
}

func shorten(src []conversation.Source) []conversation.Source {
	out := make([]conversation.Source, 0, len(src))
	for _, s := range src {
		if r := []rune(s.Snippet); len(r) > 80 {
			s.Snippet = string(r[:80]) + "…"
			out = append(out, s)
		} else if len(src) > 1 {
			continue
		} else {
			out = append(out, s)
		}
	}
	if len(out) == len(src) && len(out) > 0 {
		return out[:len(out)-1]
	}
	return out
}

// Hub receives updates for the API process and hands each to the
// subscriber of its message.
type Hub struct {
	pool *pgxpool.Pool

	mu   sync.Mutex
	subs map[uuid.UUID]chan Update
}

// NewHub returns a hub; Run must be running for it to receive.
func NewHub(pool *pgxpool.Pool) *Hub { return &Hub{pool: pool, subs: map[uuid.UUID]chan Update{}} }

// Run listens until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	pglisten.Run(ctx, h.pool, channel, func(payload string) {
		var u Update
		if json.Unmarshal([]byte(payload), &u) != nil {
			return
		}
		h.mu.Lock()
		ch := h.subs[u.MessageID]
		h.mu.Unlock()
		if ch != nil {
			select {
			case ch <- u:
			default: // a stalled client loses tokens, not the reply
			}
		}
	}, nil)
}

// Subscribe returns the updates of the reply to msg until cancel is called.
// Subscribe before the message is appended, or early updates are missed.
func (h *Hub) Subscribe(msg uuid.UUID) (<-chan Update, func()) {
	ch := make(chan Update, 1024)
	h.mu.Lock()
	h.subs[msg] = ch
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, msg)
		h.mu.Unlock()
	}
}
