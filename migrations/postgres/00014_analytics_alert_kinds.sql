-- Analytics, more alert kinds (PostgreSQL form of migrations/00014): backend
-- failures are recorded per call and per minute (backend_error_rate alerts),
-- and rules may watch quota_used and requests_ratio; an alert's history and its
-- rule keep a detail line (e.g. the subscription whose quota is nearly used).
-- Adding a column with a constant default rewrites no row, so this is quick on
-- a large events table; it reaches every partition.

-- +goose Up
ALTER TABLE analytics_events ADD COLUMN backend_failed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE analytics_rollups ADD COLUMN backend_errors BIGINT NOT NULL DEFAULT 0;
ALTER TABLE analytics_alert_rules DROP CONSTRAINT analytics_alert_rules_metric_check;
ALTER TABLE analytics_alert_rules ADD CONSTRAINT analytics_alert_rules_metric_check
    CHECK (metric IN ('error_rate', 'p95_latency_ms', 'requests', 'requests_ratio', 'quota_used', 'backend_error_rate'));
ALTER TABLE analytics_alert_rules ADD COLUMN last_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE analytics_alert_events ADD COLUMN detail TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE analytics_alert_events DROP COLUMN detail;
ALTER TABLE analytics_alert_rules DROP COLUMN last_detail;
DELETE FROM analytics_alert_rules WHERE metric NOT IN ('error_rate', 'p95_latency_ms', 'requests');
ALTER TABLE analytics_alert_rules DROP CONSTRAINT analytics_alert_rules_metric_check;
ALTER TABLE analytics_alert_rules ADD CONSTRAINT analytics_alert_rules_metric_check
    CHECK (metric IN ('error_rate', 'p95_latency_ms', 'requests'));
ALTER TABLE analytics_rollups DROP COLUMN backend_errors;
ALTER TABLE analytics_events DROP COLUMN backend_failed;
