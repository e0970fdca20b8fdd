-- +goose Up
-- One row per consumer (projection, worker): the last global position it has
-- fully handled. Projections update it in the same transaction as their rows.
CREATE TABLE checkpoints (
    consumer       text        PRIMARY KEY,
    transaction_id xid8        NOT NULL DEFAULT '0',
    sequence       bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Messages a consumer gave up on after its retries (Watermill poison queue).
CREATE TABLE dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    message_id  text        NOT NULL,
    payload     bytea       NOT NULL,
    metadata    jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Fixed-window request counters shared by every API process.
CREATE UNLOGGED TABLE rate_limits (
    bucket       text        NOT NULL,
    window_start timestamptz NOT NULL,
    hits         int         NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- Keys that sign widget tokens, shared by every API process. The newest
-- signs; all verify (by kid) until they are deleted, which allows rotation.
CREATE TABLE signing_keys (
    kid        text PRIMARY KEY,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE rate_limits;
DROP TABLE dead_letters;
DROP TABLE checkpoints;
