-- Branding of an organisation's portal (internal/account, set in /admin): a logo
-- shown in the top bar and a brand colour applied through the --brand CSS custom
-- property. Empty means Portico's defaults.

-- +goose Up
ALTER TABLE organizations ADD COLUMN logo_url TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN brand_color TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE organizations DROP COLUMN brand_color;
ALTER TABLE organizations DROP COLUMN logo_url;
