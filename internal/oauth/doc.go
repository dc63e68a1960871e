// Package oauth is Portico's OAuth 2.0 authorization server, built on
// ory/fosite: the GORM storage fosite needs (clients are access.Applications;
// codes, PKCE sessions, access and refresh tokens keyed by signature), the keys
// that sign access tokens (sealed in the database, rotated with their
// predecessors kept in the JWKS until the tokens they signed expire), the
// endpoints under /oauth2 and /.well-known, the consent page, and the janitor
// that deletes expired rows.
//
// Grants: client_credentials, authorization_code with PKCE S256, refresh_token
// with rotation. Access tokens are RFC 9068 JWTs with a kid; codes and refresh
// tokens are HMAC tokens keyed from PORTICO_SECRET. Revoking an access token
// records its jti in oauth_revoked_tokens and bumps the config version, so the
// gateway refuses it at its next snapshot.
//
// Tables: oauth_authorization_codes, oauth_pkce_sessions, oauth_access_tokens,
// oauth_refresh_tokens, oauth_consents, oauth_signing_keys, oauth_revoked_tokens.
// oauth imports config, platform, store, account and access.
package oauth
