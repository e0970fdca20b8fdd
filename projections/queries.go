package projections

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/widgetconfig"
)

// ErrNotFound is returned when a row does not exist for the organization.
var ErrNotFound = errors.New("not found")

// ErrBadCursor is returned for a cursor this server did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// Queries reads the read models. Every query takes the organization and
// filters by it in SQL.
type Queries struct {
	pool *pgxpool.Pool
}

// NewQueries returns the read side over pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// Page is one page of a list.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// Client is an API client as authentication needs it.
type Client struct {
	ClientID       string
	OrganizationID uuid.UUID
	SecretHash     string
	Revoked        bool
}

// Client returns the API client with id.
func (q *Queries) Client(ctx context.Context, clientID string) (Client, error) {
	c := Client{ClientID: clientID}
	err := q.pool.QueryRow(ctx, `SELECT organization_id, secret_hash, revoked FROM api_clients WHERE client_id = $1`,
		clientID).Scan(&c.OrganizationID, &c.SecretHash, &c.Revoked)
	return c, notFound(err)
}

// Assistant is the API view of an assistant.
type Assistant struct {
	ID           uuid.UUID `json:"id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Tone         string    `json:"tone"`
	Language     string    `json:"language"`
	DefaultTasks []string  `json:"default_tasks"`
	IsActive     bool      `json:"is_active"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

const assistantCols = `id, name, description, tone, language, default_tasks, is_active, created_at, updated_at`

func scanAssistant(r pgx.Row) (Assistant, error) {
	var a Assistant
	err := r.Scan(&a.ID, &a.Name, &a.Description, &a.Tone, &a.Language, &a.DefaultTasks, &a.IsActive, &a.CreatedAt, &a.UpdatedAt)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// Assistant returns one live assistant.
func (q *Queries) Assistant(ctx context.Context, org, id uuid.UUID) (Assistant, error) {
	a, err := scanAssistant(q.pool.QueryRow(ctx, `SELECT `+assistantCols+` FROM assistants
		WHERE organization_id = $1 AND id = $2 AND NOT deleted`, org, id))
	return a, notFound(err)
}

// Assistants lists live assistants, oldest first.
func (q *Queries) Assistants(ctx context.Context, org uuid.UUID, limit int, cursor string) (Page[Assistant], error) {
	return list(ctx, q, cursor, limit, `SELECT `+assistantCols+` FROM assistants
		WHERE organization_id = $1 AND NOT deleted AND (created_at, id) > ($2, $3)
		ORDER BY created_at, id LIMIT $4`, org, scanAssistant, func(a Assistant) (time.Time, uuid.UUID) { return a.CreatedAt, a.ID })
}

// Thread is the API view of a session or conversation.
type Thread struct {
	ID            uuid.UUID      `json:"id"`
	Kind          string         `json:"-"`
	AssistantID   uuid.UUID      `json:"assistant_id"`
	VisitorID     string         `json:"visitor_id,omitempty"`
	CustomerID    string         `json:"customer_id,omitempty"`
	Title         string         `json:"title,omitempty"`
	Locale        string         `json:"locale"`
	UserContextID string         `json:"user_context_id,omitempty"`
	Metadata      map[string]any `json:"metadata"`
	Status        string         `json:"status"`
	MessageCount  int            `json:"message_count"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

const threadCols = `id, kind, assistant_id, visitor_id, customer_id, title, locale, user_context_id, metadata,
	ended, message_count, created_at, updated_at`

func scanThread(r pgx.Row) (Thread, error) {
	var t Thread
	var ended bool
	err := r.Scan(&t.ID, &t.Kind, &t.AssistantID, &t.VisitorID, &t.CustomerID, &t.Title, &t.Locale,
		&t.UserContextID, &t.Metadata, &ended, &t.MessageCount, &t.CreatedAt, &t.UpdatedAt)
	t.Status = "active"
	if ended {
		t.Status = "ended"
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// Thread returns one session or conversation.
func (q *Queries) Thread(ctx context.Context, org uuid.UUID, kind conversation.Kind, id uuid.UUID) (Thread, error) {
	t, err := scanThread(q.pool.QueryRow(ctx, `SELECT `+threadCols+` FROM threads
		WHERE organization_id = $1 AND kind = $2 AND id = $3`, org, kind.String(), id))
	return t, notFound(err)
}

// Threads lists sessions or conversations, oldest first; customer narrows
// to one customer when not empty.
func (q *Queries) Threads(ctx context.Context, org uuid.UUID, kind conversation.Kind, customer string, limit int, cursor string) (Page[Thread], error) {
	return list(ctx, q, cursor, limit, `SELECT `+threadCols+` FROM threads
		WHERE organization_id = $1 AND kind = $5 AND ($6 = '' OR customer_id = $6) AND (created_at, id) > ($2, $3)
		ORDER BY created_at, id LIMIT $4`, org, scanThread, func(t Thread) (time.Time, uuid.UUID) { return t.CreatedAt, t.ID },
		kind.String(), customer)
}

// Message is the API view of one message.
type Message struct {
	ID          uuid.UUID             `json:"id"`
	ThreadID    uuid.UUID             `json:"-"`
	Seq         int64                 `json:"-"`
	Role        string                `json:"role"`
	Content     string                `json:"content"`
	Metadata    map[string]any        `json:"metadata"`
	ReplyTo     *uuid.UUID            `json:"reply_to,omitempty"`
	Sources     []conversation.Source `json:"sources,omitempty"`
	Answerable  *bool                 `json:"answerable,omitempty"`
	Responder   string                `json:"responder,omitempty"`
	Model       string                `json:"model,omitempty"`
	ReplyStatus string                `json:"reply_status,omitempty"`
	ReplyError  string                `json:"reply_error,omitempty"`
	CreatedAt   time.Time             `json:"created_at"`
}

// MarshalJSON gives each role its shape: a reply always carries sources
// (possibly empty), answerable, responder and model; a user message its
// reply status.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Role == conversation.RoleAssistant.String() {
		sources := m.Sources
		if sources == nil {
			sources = []conversation.Source{}
		}
		answerable := m.Answerable != nil && *m.Answerable
		return json.Marshal(struct {
			ID         uuid.UUID             `json:"id"`
			Role       string                `json:"role"`
			Content    string                `json:"content"`
			Metadata   map[string]any        `json:"metadata"`
			ReplyTo    *uuid.UUID            `json:"reply_to"`
			Sources    []conversation.Source `json:"sources"`
			Answerable bool                  `json:"answerable"`
			Responder  string                `json:"responder"`
			Model      string                `json:"model"`
			CreatedAt  time.Time             `json:"created_at"`
		}{m.ID, m.Role, m.Content, orEmpty(m.Metadata), m.ReplyTo, sources, answerable, m.Responder, m.Model, m.CreatedAt})
	}
	return json.Marshal(struct {
		ID          uuid.UUID      `json:"id"`
		Role        string         `json:"role"`
		Content     string         `json:"content"`
		Metadata    map[string]any `json:"metadata"`
		ReplyStatus string         `json:"reply_status,omitempty"`
		ReplyError  string         `json:"reply_error,omitempty"`
		CreatedAt   time.Time      `json:"created_at"`
	}{m.ID, m.Role, m.Content, orEmpty(m.Metadata), m.ReplyStatus, m.ReplyError, m.CreatedAt})
}

const messageCols = `id, thread_id, seq, role, content, metadata, reply_to, sources, answerable, responder, model,
	reply_status, reply_error, created_at`

func scanMessage(r pgx.Row) (Message, error) {
	var m Message
	err := r.Scan(&m.ID, &m.ThreadID, &m.Seq, &m.Role, &m.Content, &m.Metadata, &m.ReplyTo, &m.Sources,
		&m.Answerable, &m.Responder, &m.Model, &m.ReplyStatus, &m.ReplyError, &m.CreatedAt)
	m.CreatedAt = m.CreatedAt.UTC()
	if m.Sources == nil && m.Role == conversation.RoleAssistant.String() {
		m.Sources = []conversation.Source{}
	}
	return m, err
}

// Messages lists a thread's messages in order.
func (q *Queries) Messages(ctx context.Context, org, thread uuid.UUID, limit int, cursor string) (Page[Message], error) {
	after := int64(0)
	if cursor != "" {
		n, err := strconv.ParseInt(decodeCursor(cursor), 10, 64)
		if err != nil {
			return Page[Message]{}, ErrBadCursor
		}
		after = n
	}
	limit = clampLimit(limit)
	rows, err := q.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE organization_id = $1 AND thread_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`, org, thread, after, limit+1)
	if err != nil {
		return Page[Message]{}, err
	}
	items, err := collect(rows, scanMessage)
	if err != nil {
		return Page[Message]{}, err
	}
	page := Page[Message]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		c := encodeCursor(strconv.FormatInt(page.Items[limit-1].Seq, 10))
		page.NextCursor = &c
	}
	return page, nil
}

// Message returns one message.
func (q *Queries) Message(ctx context.Context, org, id uuid.UUID) (Message, error) {
	m, err := scanMessage(q.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE organization_id = $1 AND id = $2`, org, id))
	return m, notFound(err)
}

// ReplyTo returns the assistant's reply to message id, if projected yet.
func (q *Queries) ReplyTo(ctx context.Context, org, id uuid.UUID) (Message, error) {
	m, err := scanMessage(q.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE organization_id = $1 AND reply_to = $2`, org, id))
	return m, notFound(err)
}

// RecentMessages returns up to n of a thread's latest messages, oldest first.
func (q *Queries) RecentMessages(ctx context.Context, org, thread uuid.UUID, n int) ([]Message, error) {
	rows, err := q.pool.Query(ctx, `SELECT * FROM (SELECT `+messageCols+` FROM messages
		WHERE organization_id = $1 AND thread_id = $2 ORDER BY seq DESC LIMIT $3) m ORDER BY seq`, org, thread, n)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanMessage)
}

// UserContext is the API view of a user context.
type UserContext struct {
	ID            uuid.UUID      `json:"id"`
	UserReference string         `json:"user_reference"`
	Traits        map[string]any `json:"traits"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// UserContext returns the context of ref.
func (q *Queries) UserContext(ctx context.Context, org uuid.UUID, ref string) (UserContext, error) {
	var c UserContext
	err := q.pool.QueryRow(ctx, `SELECT id, user_reference, traits, created_at, updated_at FROM user_contexts
		WHERE organization_id = $1 AND user_reference = $2`, org, ref).Scan(&c.ID, &c.UserReference, &c.Traits, &c.CreatedAt, &c.UpdatedAt)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, notFound(err)
}

// KnowledgeItem is the API view of a knowledge item.
type KnowledgeItem struct {
	ID           uuid.UUID  `json:"id"`
	Kind         string     `json:"kind"`
	Title        string     `json:"title"`
	Status       string     `json:"status"`
	StatusReason string     `json:"status_reason"`
	Tags         []string   `json:"tags"`
	AssistantID  *uuid.UUID `json:"assistant_id"`
	Question     string     `json:"question,omitempty"`
	Answer       string     `json:"answer,omitempty"`
	Source       string     `json:"source,omitempty"`
	URL          string     `json:"url,omitempty"`
	FileType     string     `json:"file_type,omitempty"`
	ChunkCount   int        `json:"chunk_count"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

const knowledgeCols = `id, kind, title, status, status_reason, tags, assistant_id, question, answer, source, url,
	file_type, chunk_count, created_at, updated_at`

func scanKnowledge(r pgx.Row) (KnowledgeItem, error) {
	var k KnowledgeItem
	err := r.Scan(&k.ID, &k.Kind, &k.Title, &k.Status, &k.StatusReason, &k.Tags, &k.AssistantID, &k.Question,
		&k.Answer, &k.Source, &k.URL, &k.FileType, &k.ChunkCount, &k.CreatedAt, &k.UpdatedAt)
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return k, err
}

// KnowledgeItem returns one item.
func (q *Queries) KnowledgeItem(ctx context.Context, org, id uuid.UUID) (KnowledgeItem, error) {
	k, err := scanKnowledge(q.pool.QueryRow(ctx, `SELECT `+knowledgeCols+` FROM knowledge_items
		WHERE organization_id = $1 AND id = $2`, org, id))
	return k, notFound(err)
}

// KnowledgeItems lists items, oldest first.
func (q *Queries) KnowledgeItems(ctx context.Context, org uuid.UUID, limit int, cursor string) (Page[KnowledgeItem], error) {
	return list(ctx, q, cursor, limit, `SELECT `+knowledgeCols+` FROM knowledge_items
		WHERE organization_id = $1 AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4`,
		org, scanKnowledge, func(k KnowledgeItem) (time.Time, uuid.UUID) { return k.CreatedAt, k.ID })
}

// WidgetConfig is the API view of a widget config.
type WidgetConfig struct {
	ID uuid.UUID `json:"id"`
	widgetconfig.Spec
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func scanWidget(r pgx.Row) (WidgetConfig, error) {
	var w WidgetConfig
	var spec []byte
	if err := r.Scan(&w.ID, &spec, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return w, err
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return w, json.Unmarshal(spec, &w.Spec)
}

// WidgetConfig returns one config.
func (q *Queries) WidgetConfig(ctx context.Context, org, id uuid.UUID) (WidgetConfig, error) {
	w, err := scanWidget(q.pool.QueryRow(ctx, `SELECT id, spec, created_at, updated_at FROM widget_configs
		WHERE organization_id = $1 AND id = $2`, org, id))
	return w, notFound(err)
}

// WidgetConfigs lists configs, oldest first.
func (q *Queries) WidgetConfigs(ctx context.Context, org uuid.UUID, limit int, cursor string) (Page[WidgetConfig], error) {
	return list(ctx, q, cursor, limit, `SELECT id, spec, created_at, updated_at FROM widget_configs
		WHERE organization_id = $1 AND (created_at, id) > ($2, $3) ORDER BY created_at, id LIMIT $4`,
		org, scanWidget, func(w WidgetConfig) (time.Time, uuid.UUID) { return w.CreatedAt, w.ID })
}

func list[T any](ctx context.Context, q *Queries, cursor string, limit int, sql string, org uuid.UUID,
	scan func(pgx.Row) (T, error), key func(T) (time.Time, uuid.UUID), extra ...any) (Page[T], error) {
	at, id, err := parseKeyCursor(cursor)
	if err != nil {
		return Page[T]{}, err
	}
	limit = clampLimit(limit)
	rows, err := q.pool.Query(ctx, sql, append([]any{org, at, id, limit + 1}, extra...)...)
	if err != nil {
		return Page[T]{}, err
	}
	items, err := collect(rows, scan)
	if err != nil {
		return Page[T]{}, err
	}
	page := Page[T]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		t, i := key(page.Items[limit-1])
		c := encodeCursor(t.Format(time.RFC3339Nano) + "|" + i.String())
		page.NextCursor = &c
	}
	return page, nil
}

func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return 20
	case n > 100:
		return 100
	}
	return n
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "\x00"
	}
	return string(b)
}

func parseKeyCursor(c string) (time.Time, uuid.UUID, error) {
	if c == "" {
		return time.Time{}, uuid.Nil, nil
	}
	ts, id, ok := strings.Cut(decodeCursor(c), "|")
	t, err1 := time.Parse(time.RFC3339Nano, ts)
	u, err2 := uuid.Parse(id)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, uuid.Nil, ErrBadCursor
	}
	return t, u, nil
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return nil
}
