-- Mutual TLS to backends: a client certificate (its key sealed with the
-- "backend-credentials" key) and an optional CA to trust for the backend.

-- +goose Up
ALTER TABLE apis ADD COLUMN backend_tls_cert TEXT NOT NULL DEFAULT '';
ALTER TABLE apis ADD COLUMN backend_tls_key TEXT NOT NULL DEFAULT '';
ALTER TABLE apis ADD COLUMN backend_tls_ca TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apis DROP COLUMN backend_tls_ca;
ALTER TABLE apis DROP COLUMN backend_tls_key;
ALTER TABLE apis DROP COLUMN backend_tls_cert;
