package projections

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/domain/organization"
	"github.com/companin/companin/domain/usercontext"
	"github.com/companin/companin/domain/widgetconfig"
)

// streamID returns the aggregate id at the end of a "kind-<uuid>" stream id.
func streamID(stream string) uuid.UUID {
	i := strings.IndexByte(stream, '-')
	id, _ := uuid.Parse(stream[i+1:])
	return id
}

func exec(ctx context.Context, tx pgx.Tx, sql string, args ...any) (bool, error) {
	_, err := tx.Exec(ctx, sql, args...)
	return err == nil, err
}

func projectAccounts(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error) {
	switch ev := p.(type) {
	case organization.Created:
		return exec(ctx, tx, `INSERT INTO organizations (id, name, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, e.OrganizationID, ev.Name, e.Time)
	case organization.ClientIssued:
		return exec(ctx, tx, `INSERT INTO api_clients (client_id, organization_id, secret_hash, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (client_id) DO NOTHING`, ev.ClientID, e.OrganizationID, ev.SecretHash, e.Time)
	case organization.ClientRevoked:
		return exec(ctx, tx, `UPDATE api_clients SET revoked = true WHERE client_id = $1`, ev.ClientID)
	}
	return false, nil
}

func projectAssistants(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error) {
	id := streamID(e.Stream)
	switch ev := p.(type) {
	case assistant.Created:
		tasks, _ := json.Marshal(ev.DefaultTasks)
		return exec(ctx, tx, `INSERT INTO assistants (id, organization_id, name, description, tone, language,
			default_tasks, is_active, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$9)`,
			id, e.OrganizationID, ev.Name, ev.Description, ev.Tone, ev.Language, tasks, ev.IsActive, e.Time)
	case assistant.Updated:
		tasks, _ := json.Marshal(ev.DefaultTasks)
		return exec(ctx, tx, `UPDATE assistants SET name=$2, description=$3, tone=$4, language=$5,
			default_tasks=$6, is_active=$7, updated_at=$8 WHERE id=$1`,
			id, ev.Name, ev.Description, ev.Tone, ev.Language, tasks, ev.IsActive, e.Time)
	case assistant.Deleted:
		return exec(ctx, tx, `UPDATE assistants SET deleted = true, is_active = false, updated_at = $2 WHERE id = $1`, id, e.Time)
	}
	return false, nil
}

func projectThreads(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error) {
	id := streamID(e.Stream)
	switch ev := p.(type) {
	case conversation.SessionStarted:
		return insertThread(ctx, tx, e, id, conversation.KindSession, ev.Started)
	case conversation.ConversationStarted:
		return insertThread(ctx, tx, e, id, conversation.KindConversation, ev.Started)
	case conversation.MessageSent:
		meta, _ := json.Marshal(orEmpty(ev.Metadata))
		sources, _ := json.Marshal(orEmptySlice(ev.Sources))
		status := ""
		if ev.Role == conversation.RoleUser.String() {
			status = "pending"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO messages (id, thread_id, organization_id, seq, role, content,
			metadata, reply_to, sources, answerable, responder, model, reply_status, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (id) DO NOTHING`,
			ev.MessageID, id, e.OrganizationID, e.Version, ev.Role, ev.Content, meta, ev.ReplyTo,
			sources, ev.Answerable, ev.Responder, ev.Model, status, e.Time); err != nil {
			return false, err
		}
		if ev.ReplyTo != nil {
			if _, err := tx.Exec(ctx, `UPDATE messages SET reply_status = 'completed' WHERE id = $1`, *ev.ReplyTo); err != nil {
				return false, err
			}
		}
		return exec(ctx, tx, `UPDATE threads SET message_count = message_count + 1, updated_at = $2 WHERE id = $1`, id, e.Time)
	case conversation.ReplyFailed:
		return exec(ctx, tx, `UPDATE messages SET reply_status = 'failed', reply_error = $2 WHERE id = $1`, ev.ReplyTo, ev.Reason)
	case conversation.Ended:
		return exec(ctx, tx, `UPDATE threads SET ended = true, updated_at = $2 WHERE id = $1`, id, e.Time)
	}
	return false, nil
}

func insertThread(ctx context.Context, tx pgx.Tx, e event.Event, id uuid.UUID, k conversation.Kind, s conversation.Started) (bool, error) {
	meta, _ := json.Marshal(orEmpty(s.Metadata))
	return exec(ctx, tx, `INSERT INTO threads (id, kind, organization_id, assistant_id, visitor_id, customer_id,
		title, locale, user_context_id, metadata, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11) ON CONFLICT (id) DO NOTHING`,
		id, k.String(), e.OrganizationID, s.AssistantID, s.VisitorID, s.CustomerID, s.Title, s.Locale,
		s.UserContextID, meta, e.Time)
}

func projectContexts(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error) {
	id := streamID(e.Stream)
	switch ev := p.(type) {
	case usercontext.Created:
		traits, _ := json.Marshal(orEmpty(ev.Traits))
		return exec(ctx, tx, `INSERT INTO user_contexts (id, organization_id, user_reference, traits, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$5) ON CONFLICT (id) DO UPDATE SET traits = excluded.traits,
			created_at = excluded.created_at, updated_at = excluded.updated_at`,
			id, e.OrganizationID, ev.UserReference, traits, e.Time)
	case usercontext.Updated:
		traits, _ := json.Marshal(orEmpty(ev.Traits))
		return exec(ctx, tx, `UPDATE user_contexts SET traits = $2, updated_at = $3 WHERE id = $1`, id, traits, e.Time)
	case usercontext.Erased:
		return exec(ctx, tx, `DELETE FROM user_contexts WHERE id = $1`, id)
	}
	return false, nil
}

func projectKnowledge(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error) {
	id := streamID(e.Stream)
	switch ev := p.(type) {
	case knowledge.Added:
		tags, _ := json.Marshal(orEmptySlice(ev.Tags))
		return exec(ctx, tx, `INSERT INTO knowledge_items (id, organization_id, assistant_id, kind, title, question,
			answer, tags, source, url, file_type, status, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'pending',$12,$12) ON CONFLICT (id) DO NOTHING`,
			id, e.OrganizationID, ev.AssistantID, ev.Kind, ev.Title, ev.Question, ev.Answer, tags, ev.Source,
			ev.URL, ev.FileType, e.Time)
	case knowledge.Indexed:
		if _, err := tx.Exec(ctx, `DELETE FROM knowledge_chunks WHERE knowledge_id = $1`, id); err != nil {
			return false, err
		}
		if ev.Title != "" {
			if _, err := tx.Exec(ctx, `UPDATE knowledge_items SET title = $2 WHERE id = $1 AND title = ''`, id, ev.Title); err != nil {
				return false, err
			}
		}
		var title string
		if err := tx.QueryRow(ctx, `SELECT title FROM knowledge_items WHERE id = $1`, id).Scan(&title); err != nil {
			return false, err
		}
		for _, c := range ev.Chunks {
			sum := sha256.Sum256([]byte(knowledge.EmbeddingText(title, c.Heading, c.Text)))
			if _, err := tx.Exec(ctx, `INSERT INTO knowledge_chunks (id, knowledge_id, organization_id, assistant_id,
				ordinal, title, heading, body, embed_sha256, tsv)
				SELECT $1, k.id, k.organization_id, k.assistant_id, $3, k.title, $4, $5, $6,
					setweight(to_tsvector('english', k.title || ' ' || $4), 'A') ||
					setweight(to_tsvector('dutch', k.title || ' ' || $4), 'A') ||
					to_tsvector('english', $5) || to_tsvector('dutch', $5) || to_tsvector('simple', $5)
				FROM knowledge_items k WHERE k.id = $2`,
				c.ID, id, c.Ordinal, c.Heading, c.Text, sum[:]); err != nil {
				return false, err
			}
		}
		if err := bumpKnowledge(ctx, tx, e.OrganizationID); err != nil {
			return false, err
		}
		return exec(ctx, tx, `UPDATE knowledge_items SET status = 'indexed', status_reason = '',
			chunk_count = $2, updated_at = $3 WHERE id = $1`, id, len(ev.Chunks), e.Time)
	case knowledge.RefreshRequested:
		return exec(ctx, tx, `UPDATE knowledge_items SET status = 'pending', status_reason = '', updated_at = $2
			WHERE id = $1`, id, e.Time)
	case knowledge.IndexingFailed:
		return exec(ctx, tx, `UPDATE knowledge_items SET status = 'failed', status_reason = $2, updated_at = $3
			WHERE id = $1`, id, ev.Reason, e.Time)
	case knowledge.Removed:
		if _, err := tx.Exec(ctx, `DELETE FROM knowledge_chunks WHERE knowledge_id = $1`, id); err != nil {
			return false, err
		}
		if err := bumpKnowledge(ctx, tx, e.OrganizationID); err != nil {
			return false, err
		}
		return exec(ctx, tx, `DELETE FROM knowledge_items WHERE id = $1`, id)
	}
	return false, nil
}

func projectWidgets(ctx context.Context, tx pgx.Tx, e event.Event, p event.Payload) (bool, error) {
	id := streamID(e.Stream)
	switch ev := p.(type) {
	case widgetconfig.Created:
		spec, _ := json.Marshal(ev.Spec)
		return exec(ctx, tx, `INSERT INTO widget_configs (id, organization_id, spec, created_at, updated_at)
			VALUES ($1,$2,$3,$4,$4) ON CONFLICT (id) DO NOTHING`, id, e.OrganizationID, spec, e.Time)
	case widgetconfig.Updated:
		spec, _ := json.Marshal(ev.Spec)
		return exec(ctx, tx, `UPDATE widget_configs SET spec = $2, updated_at = $3 WHERE id = $1`, id, spec, e.Time)
	case widgetconfig.Deleted:
		return exec(ctx, tx, `DELETE FROM widget_configs WHERE id = $1`, id)
	}
	return false, nil
}

// bumpKnowledge tells in-process vector indexes that org's passages changed.
func bumpKnowledge(ctx context.Context, tx pgx.Tx, org uuid.UUID) error {
	_, err := tx.Exec(ctx, `INSERT INTO knowledge_versions (organization_id, version) VALUES ($1, 1)
		ON CONFLICT (organization_id) DO UPDATE SET version = knowledge_versions.version + 1`, org)
	return err
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptySlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
