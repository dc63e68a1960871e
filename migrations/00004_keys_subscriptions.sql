-- API keys and subscriptions: how an application is allowed to call an API.

-- +goose Up

-- An API key identifies an application at the gateway. Only its SHA-256 is kept;
-- prefix is the first characters, shown so people can tell their keys apart.
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    name           TEXT NOT NULL DEFAULT '',
    key_hash       TEXT NOT NULL UNIQUE,
    prefix         TEXT NOT NULL,
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NULL
);
CREATE INDEX api_keys_application_id ON api_keys (application_id, id);

-- A subscription lets one application call one API on one tier.
-- status: ACTIVE, PENDING (waiting for approval), REJECTED, BLOCKED (by the
-- publisher), SUSPENDED (unpaid invoice).
CREATE TABLE subscriptions (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    api_id         TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    tier           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'PENDING', 'REJECTED', 'BLOCKED', 'SUSPENDED')),
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (application_id, api_id)
);
CREATE INDEX subscriptions_api_id ON subscriptions (api_id, status);
CREATE INDEX subscriptions_org_id ON subscriptions (org_id, id);

-- +goose Down
DROP TABLE subscriptions;
DROP TABLE api_keys;
