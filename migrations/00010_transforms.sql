-- Rewrite rules per API (headers, query, path prefix, JSON body fields,
-- JSON↔XML), applied by the gateway both ways.

-- +goose Up
ALTER TABLE apis ADD COLUMN transforms TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE apis DROP COLUMN transforms;
