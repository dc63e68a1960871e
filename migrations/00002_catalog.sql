-- Catalog: APIs and their versions, operations, documents, and rate-limit tiers.
-- Lifecycle history lives in audit_events (action 'api.lifecycle').

-- +goose Up

-- A context belongs to one API family (all versions of one API) of one
-- organisation, across the whole installation: the gateway routes on it.
CREATE TABLE api_contexts (
    context    TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE apis (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    family_id          TEXT NOT NULL,
    name               TEXT NOT NULL,
    context            TEXT NOT NULL REFERENCES api_contexts (context),
    version            TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    tags               TEXT NOT NULL DEFAULT '[]',          -- JSON list of strings
    visibility         TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
    state              TEXT NOT NULL DEFAULT 'CREATED'
        CHECK (state IN ('CREATED', 'PROTOTYPED', 'PUBLISHED', 'BLOCKED', 'DEPRECATED', 'RETIRED')),
    default_version    BOOLEAN NOT NULL DEFAULT FALSE,
    endpoints          TEXT NOT NULL DEFAULT '[]',          -- JSON [{"url": ...}]
    balance            TEXT NOT NULL DEFAULT 'failover' CHECK (balance IN ('failover', 'round_robin')),
    backend_auth_type  TEXT NOT NULL DEFAULT 'none' CHECK (backend_auth_type IN ('none', 'basic', 'header')),
    backend_auth_name  TEXT NOT NULL DEFAULT '',            -- basic: user name; header: header name
    backend_secret     TEXT NOT NULL DEFAULT '',            -- sealed with the "backend-credentials" key
    auth_types         TEXT NOT NULL DEFAULT '["oauth2","api_key"]',
    tiers              TEXT NOT NULL DEFAULT '["Unlimited"]',
    cors               TEXT NOT NULL DEFAULT '{}',
    timeout_ms         INTEGER NOT NULL DEFAULT 30000,
    approval           TEXT NOT NULL DEFAULT 'auto' CHECK (approval IN ('auto', 'manual')),
    openapi            TEXT NOT NULL DEFAULT '',            -- OpenAPI 3 document (JSON)
    created_by         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX apis_context_version ON apis (context, version);
-- At most one version of a context is its default.
CREATE UNIQUE INDEX apis_default_version ON apis (context) WHERE default_version;
CREATE INDEX apis_org_id ON apis (org_id, id);
CREATE INDEX apis_family_id ON apis (family_id);

CREATE TABLE api_operations (
    id            TEXT PRIMARY KEY,
    api_id        TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,                            -- template: /pets/{id}
    summary       TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL DEFAULT '[]',
    auth          BOOLEAN NOT NULL DEFAULT TRUE,
    limit_requests BIGINT NOT NULL DEFAULT 0,               -- 0: the tier's limit only
    limit_per     TEXT NOT NULL DEFAULT '',
    position      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX api_operations_route ON api_operations (api_id, method, path);

CREATE TABLE api_documents (
    id         TEXT PRIMARY KEY,
    api_id     TEXT NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',                    -- Markdown, rendered sanitised
    position   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX api_documents_api_id ON api_documents (api_id, position);

-- Rate-limit and billing plans. requests = 0 means unlimited.
CREATE TABLE tiers (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    requests          BIGINT NOT NULL DEFAULT 0,
    per               TEXT NOT NULL DEFAULT 'minute' CHECK (per IN ('second', 'minute', 'hour', 'day', 'month')),
    burst             BIGINT NOT NULL DEFAULT 0,
    monthly_fee_cents BIGINT NOT NULL DEFAULT 0,
    per_call_cents    BIGINT NOT NULL DEFAULT 0,
    builtin           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tiers_org_name ON tiers (org_id, name);

-- +goose Down
DROP TABLE tiers;
DROP TABLE api_documents;
DROP TABLE api_operations;
DROP TABLE apis;
DROP TABLE api_contexts;
