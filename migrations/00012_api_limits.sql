-- An API-wide limit: all callers of one API version together, on top of each
-- subscription's tier and each operation's own limit.

-- +goose Up
ALTER TABLE apis ADD COLUMN limit_requests BIGINT NOT NULL DEFAULT 0;
ALTER TABLE apis ADD COLUMN limit_per TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE apis DROP COLUMN limit_per;
ALTER TABLE apis DROP COLUMN limit_requests;
