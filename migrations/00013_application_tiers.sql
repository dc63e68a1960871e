-- Application-level throttling (WSO2's application policies): all of one
-- application's calls together, across every API it is subscribed to.

-- +goose Up
ALTER TABLE applications ADD COLUMN tier TEXT NOT NULL DEFAULT 'Unlimited';

-- +goose Down
ALTER TABLE applications DROP COLUMN tier;
