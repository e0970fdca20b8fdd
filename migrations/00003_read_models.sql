-- +goose Up
-- Read models. Every row here is rebuilt from events by a projection
-- (projections package); dropping them loses nothing.

CREATE TABLE organizations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE api_clients (
    client_id       text PRIMARY KEY,
    organization_id uuid NOT NULL,
    secret_hash     text NOT NULL,
    revoked         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL
);

CREATE TABLE assistants (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    name            text NOT NULL,
    description     text NOT NULL,
    tone            text NOT NULL,
    language        text NOT NULL,
    default_tasks   jsonb NOT NULL,
    is_active       boolean NOT NULL,
    deleted         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX assistants_list ON assistants (organization_id, created_at, id) WHERE NOT deleted;

-- Sessions and conversations share one table: they are one aggregate.
CREATE TABLE threads (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    organization_id uuid NOT NULL,
    assistant_id    uuid NOT NULL,
    visitor_id      text NOT NULL DEFAULT '',
    customer_id     text NOT NULL DEFAULT '',
    title           text NOT NULL DEFAULT '',
    locale          text NOT NULL DEFAULT '',
    user_context_id text NOT NULL DEFAULT '',
    metadata        jsonb NOT NULL,
    ended           boolean NOT NULL DEFAULT false,
    message_count   int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX threads_list ON threads (organization_id, kind, created_at, id);

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    thread_id       uuid NOT NULL,
    organization_id uuid NOT NULL,
    seq             bigint NOT NULL,
    role            text NOT NULL,
    content         text NOT NULL,
    metadata        jsonb NOT NULL,
    reply_to        uuid,
    sources         jsonb NOT NULL DEFAULT '[]',
    answerable      boolean,
    responder       text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    -- for user messages: pending until a reply or a failure is projected
    reply_status    text NOT NULL DEFAULT '',
    reply_error     text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, seq);
CREATE UNIQUE INDEX messages_reply ON messages (reply_to) WHERE reply_to IS NOT NULL;

CREATE TABLE user_contexts (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    user_reference  text NOT NULL,
    traits          jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, user_reference)
);

CREATE TABLE knowledge_items (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    assistant_id    uuid,
    kind            text NOT NULL,
    title           text NOT NULL,
    question        text NOT NULL DEFAULT '',
    answer          text NOT NULL DEFAULT '',
    tags            jsonb NOT NULL,
    source          text NOT NULL DEFAULT '',
    url             text NOT NULL DEFAULT '',
    file_type       text NOT NULL DEFAULT '',
    status          text NOT NULL,
    status_reason   text NOT NULL DEFAULT '',
    chunk_count     int NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX knowledge_items_list ON knowledge_items (organization_id, created_at, id);

-- Passages searched by replies. The organization is in the row (and in every
-- query's WHERE) so retrieval can never cross tenants.
CREATE TABLE knowledge_chunks (
    id              uuid PRIMARY KEY,
    knowledge_id    uuid NOT NULL,
    organization_id uuid NOT NULL,
    assistant_id    uuid,
    ordinal         int NOT NULL,
    title           text NOT NULL,
    heading         text NOT NULL DEFAULT '',
    body            text NOT NULL,
    -- English and Dutch stems plus unstemmed words, so a question matches
    -- whichever language it is asked in.
    tsv             tsvector NOT NULL
);
CREATE INDEX knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv);
CREATE INDEX knowledge_chunks_org ON knowledge_chunks (organization_id, knowledge_id);

CREATE TABLE widget_configs (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    spec            jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX widget_configs_list ON widget_configs (organization_id, created_at, id);

-- +goose Down
DROP TABLE widget_configs, knowledge_chunks, knowledge_items, user_contexts,
    messages, threads, assistants, api_clients, organizations;
