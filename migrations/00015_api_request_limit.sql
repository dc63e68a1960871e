-- The largest request body the gateway lets through to an API's backend; a
-- larger one is answered 413 before the backend sees it.

-- +goose Up
ALTER TABLE apis ADD COLUMN max_request_bytes BIGINT NOT NULL DEFAULT 10485760;

-- +goose Down
ALTER TABLE apis DROP COLUMN max_request_bytes;
