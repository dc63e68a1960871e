-- Applications (the access module's foundation: API keys and subscriptions
-- arrive with a later migration) and the OAuth 2.0 server's tables.

-- +goose Up

-- An application is a developer's OAuth client. Its secret is kept as an
-- HMAC-SHA256 under a server pepper (secrets are 256-bit random, so a slow hash
-- would add cost without adding safety); public clients (PKCE only) have none.
CREATE TABLE applications (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    owner_id           TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    client_id          TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL DEFAULT '',
    callback_urls      TEXT NOT NULL DEFAULT '[]', -- JSON list of exact redirect URIs
    public             BOOLEAN NOT NULL DEFAULT FALSE,
    grant_types        TEXT NOT NULL DEFAULT '[]', -- JSON list
    allowed_scopes     TEXT NOT NULL DEFAULT '["*"]', -- JSON list; "*" = any well-formed scope
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE INDEX applications_org_id ON applications (org_id, id);

-- Token rows share one shape (fosite's Requester): the request id ties every
-- token of one grant together so the grant can be revoked at once; form_data
-- holds only an allow-listed part of the request form; session_data the JSON
-- session (claims, expiries).

-- Authorization codes, by HMAC signature. A used code is kept inactive, so a
-- second use is recognised and revokes the grant's tokens.
CREATE TABLE oauth_authorization_codes (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL,
    subject            TEXT NOT NULL DEFAULT '',
    requested_at       TIMESTAMP NOT NULL,
    requested_scopes   TEXT NOT NULL DEFAULT '',
    granted_scopes     TEXT NOT NULL DEFAULT '',
    requested_audience TEXT NOT NULL DEFAULT '',
    granted_audience   TEXT NOT NULL DEFAULT '',
    form_data          TEXT NOT NULL DEFAULT '',
    session_data       TEXT NOT NULL DEFAULT '{}',
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMP NOT NULL
);
CREATE INDEX oauth_authorization_codes_request_id ON oauth_authorization_codes (request_id);
CREATE INDEX oauth_authorization_codes_expires_at ON oauth_authorization_codes (expires_at);

-- PKCE challenges, by the authorization code's signature.
CREATE TABLE oauth_pkce_sessions (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    client_id          TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL,
    subject            TEXT NOT NULL DEFAULT '',
    requested_at       TIMESTAMP NOT NULL,
    requested_scopes   TEXT NOT NULL DEFAULT '',
    granted_scopes     TEXT NOT NULL DEFAULT '',
    requested_audience TEXT NOT NULL DEFAULT '',
    granted_audience   TEXT NOT NULL DEFAULT '',
    form_data          TEXT NOT NULL DEFAULT '',
    session_data       TEXT NOT NULL DEFAULT '{}',
    expires_at         TIMESTAMP NOT NULL
);
CREATE INDEX oauth_pkce_sessions_expires_at ON oauth_pkce_sessions (expires_at);

-- Access tokens (JWTs), by the SHA-256 of their signature; jti is what the
-- revoked list names.
CREATE TABLE oauth_access_tokens (
    signature_hash     TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    jti                TEXT NOT NULL,
    client_id          TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL,
    subject            TEXT NOT NULL DEFAULT '',
    requested_at       TIMESTAMP NOT NULL,
    requested_scopes   TEXT NOT NULL DEFAULT '',
    granted_scopes     TEXT NOT NULL DEFAULT '',
    requested_audience TEXT NOT NULL DEFAULT '',
    granted_audience   TEXT NOT NULL DEFAULT '',
    form_data          TEXT NOT NULL DEFAULT '',
    session_data       TEXT NOT NULL DEFAULT '{}',
    expires_at         TIMESTAMP NOT NULL
);
CREATE INDEX oauth_access_tokens_request_id ON oauth_access_tokens (request_id);
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);

-- Refresh tokens, by HMAC signature. Rotation marks the old one inactive, so a
-- replay is recognised and revokes the grant.
CREATE TABLE oauth_refresh_tokens (
    signature          TEXT PRIMARY KEY,
    request_id         TEXT NOT NULL,
    access_signature_hash TEXT NOT NULL DEFAULT '',
    client_id          TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL,
    subject            TEXT NOT NULL DEFAULT '',
    requested_at       TIMESTAMP NOT NULL,
    requested_scopes   TEXT NOT NULL DEFAULT '',
    granted_scopes     TEXT NOT NULL DEFAULT '',
    requested_audience TEXT NOT NULL DEFAULT '',
    granted_audience   TEXT NOT NULL DEFAULT '',
    form_data          TEXT NOT NULL DEFAULT '',
    session_data       TEXT NOT NULL DEFAULT '{}',
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at         TIMESTAMP NOT NULL
);
CREATE INDEX oauth_refresh_tokens_request_id ON oauth_refresh_tokens (request_id);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);

-- Remembered consent: the scopes a user approved for a client.
CREATE TABLE oauth_consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES applications (client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL DEFAULT '[]', -- JSON list
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Keys that sign access tokens. The private key is sealed with a key derived
-- from PORTICO_SECRET; public_jwk is what the JWKS (and the gateway) serve.
-- not_after is NULL for the signing key; a rotated-out key keeps verifying
-- (and stays in the JWKS) until not_after, when its last token has expired.
CREATE TABLE oauth_signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    not_after   TIMESTAMP NULL
);

-- Revoked access tokens, by jti, until they would have expired anyway. The
-- gateway loads this list into its snapshot.
CREATE TABLE oauth_revoked_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL DEFAULT '',
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NOT NULL
);
CREATE INDEX oauth_revoked_tokens_expires_at ON oauth_revoked_tokens (expires_at);

-- +goose Down
DROP TABLE oauth_revoked_tokens;
DROP TABLE oauth_signing_keys;
DROP TABLE oauth_consents;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_pkce_sessions;
DROP TABLE oauth_authorization_codes;
DROP TABLE applications;
