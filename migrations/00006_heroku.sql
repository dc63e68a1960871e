-- The Heroku add-on (internal/heroku): one row per add-on resource Heroku
-- provisioned, the durable jobs that finish provisioning through Heroku's
-- Platform API, the Heroku users who came in through single sign-on, and a
-- short-lived record of used SSO tokens.

-- +goose Up

-- A resource is keyed on Heroku's uuid (the idempotency key of the partner
-- API). response_body is the first answer, sealed because it holds the backend
-- secret; a repeated provision request replays it. grant_code, access_token and
-- refresh_token are sealed with the keyring's "heroku-tokens" key.
CREATE TABLE heroku_resources (
    uuid             TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    plan             TEXT NOT NULL,
    region           TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL CHECK (state IN ('provisioning', 'provisioned', 'failed', 'deprovisioned')),
    org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    api_id           TEXT NOT NULL DEFAULT '',
    app_name         TEXT NOT NULL DEFAULT '',
    backend_url      TEXT NOT NULL DEFAULT '',
    grant_code       TEXT NOT NULL DEFAULT '',
    grant_expires_at TIMESTAMP NULL,
    access_token     TEXT NOT NULL DEFAULT '',
    refresh_token    TEXT NOT NULL DEFAULT '',
    token_expires_at TIMESTAMP NULL,
    response_status  INTEGER NOT NULL,
    response_body    TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    deprovisioned_at TIMESTAMP NULL
);
CREATE INDEX heroku_resources_org_id ON heroku_resources (org_id);

-- A job finishes a resource's set-up (grant exchange, backend discovery and
-- check, config vars, the provision action) with retries and backoff. A worker
-- claims a due job by setting locked_until, so several nodes never run one job
-- at once, and a crashed node's claim simply lapses.
CREATE TABLE heroku_jobs (
    id            TEXT PRIMARY KEY,
    resource_uuid TEXT NOT NULL REFERENCES heroku_resources (uuid) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_at        TIMESTAMP NOT NULL,
    locked_until  TIMESTAMP NULL,
    deadline      TIMESTAMP NOT NULL,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX heroku_jobs_due ON heroku_jobs (state, run_at);
CREATE INDEX heroku_jobs_resource ON heroku_jobs (resource_uuid);

-- The Portico user each Heroku user of a resource signs in as. heroku_user is
-- Heroku's user id, or "email:<address>" for the legacy form without one.
CREATE TABLE heroku_sso_users (
    resource_uuid TEXT NOT NULL REFERENCES heroku_resources (uuid) ON DELETE CASCADE,
    heroku_user   TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (resource_uuid, heroku_user)
);

-- Used SSO tokens, by hash, until their five minutes are over: a token is good
-- for one sign-in.
CREATE TABLE heroku_sso_replays (
    token_hash TEXT PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX heroku_sso_replays_expires_at ON heroku_sso_replays (expires_at);

-- +goose Down
DROP TABLE heroku_sso_replays;
DROP TABLE heroku_sso_users;
DROP TABLE heroku_jobs;
DROP TABLE heroku_resources;
