-- Optional request validation: the gateway checks calls against the API's
-- OpenAPI document before they reach the backend.

-- +goose Up
ALTER TABLE apis ADD COLUMN validate_requests BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE apis DROP COLUMN validate_requests;
