-- +goose Up
-- The event log. Global order is (transaction_id, sequence): sequence alone is
-- assigned before commit, so concurrent transactions commit out of sequence
-- order and a reader tailing by sequence would skip events. Readers only read
-- transactions older than the oldest one still running
-- (pg_snapshot_xmin(pg_current_snapshot())), which are all settled.
CREATE TABLE events (
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    sequence        bigint      GENERATED ALWAYS AS IDENTITY,
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    version         bigint      NOT NULL CHECK (version > 0),
    event_type      text        NOT NULL,
    schema_version  int         NOT NULL DEFAULT 1,
    organization_id uuid,
    correlation_id  uuid,
    causation_id    uuid,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    recorded_at     timestamptz NOT NULL,
    PRIMARY KEY (transaction_id, sequence)
);
-- Optimistic concurrency: two writers deciding on the same version collide here.
CREATE UNIQUE INDEX events_stream_version ON events (stream_id, version);
-- Idempotent append: a retried event id is recognised, never stored twice.
CREATE UNIQUE INDEX events_event_id ON events (event_id);
CREATE INDEX events_organization ON events (organization_id, transaction_id, sequence);

-- +goose Down
DROP TABLE events;
