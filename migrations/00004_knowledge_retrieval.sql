-- +goose Up
-- Content-addressed uploads: knowledge events name the bytes by hash, so an
-- item can be re-extracted at any time without the upload.
CREATE TABLE blobs (
    sha256       text PRIMARY KEY,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- The text a chunk's embedding is computed from, by hash: embeddings are a
-- cache keyed by (model, text), never recomputed by a rebuild.
ALTER TABLE knowledge_chunks ADD COLUMN embed_sha256 bytea NOT NULL DEFAULT '\x';
CREATE INDEX knowledge_chunks_embed ON knowledge_chunks (embed_sha256);

CREATE TABLE embeddings (
    model        text NOT NULL,
    text_sha256  bytea NOT NULL,
    dims         int NOT NULL,
    vector       bytea NOT NULL, -- little-endian float32s
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, text_sha256)
);

-- Bumped whenever an organization's searchable passages or their vectors
-- change, so in-process vector indexes know when to reload.
CREATE TABLE knowledge_versions (
    organization_id uuid PRIMARY KEY,
    version         bigint NOT NULL DEFAULT 0
);

-- A work queue shared by worker processes: claimed with FOR UPDATE SKIP
-- LOCKED under a lease, enqueued idempotently by (kind, key).
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,
    key          text NOT NULL,
    payload      jsonb NOT NULL,
    attempts     int NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, key)
);
CREATE INDEX jobs_ready ON jobs (kind, run_after);

-- +goose Down
DROP TABLE jobs, knowledge_versions, embeddings, blobs;
ALTER TABLE knowledge_chunks DROP COLUMN embed_sha256;
