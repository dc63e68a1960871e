-- Analytics, more alert kinds: backend failures are recorded per call and per
-- minute (backend_error_rate alerts), and rules may watch quota_used and
-- requests_ratio; an alert's history and its rule keep a detail line (e.g. the
-- subscription whose quota is nearly used).
--
-- This is the SQLite form: SQLite cannot change a CHECK constraint, so the two
-- alert tables are rebuilt. The events table is rebuilt alongside the rules
-- table it references, so dropping the old rules table cascades into nothing.
-- PostgreSQL runs migrations/postgres/00014_analytics_alert_kinds.sql instead.

-- +goose Up
ALTER TABLE analytics_events ADD COLUMN backend_failed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE analytics_rollups ADD COLUMN backend_errors BIGINT NOT NULL DEFAULT 0;

CREATE TABLE analytics_alert_rules_v14 (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    api_id            TEXT NOT NULL DEFAULT '',
    metric            TEXT NOT NULL CHECK (metric IN ('error_rate', 'p95_latency_ms', 'requests', 'requests_ratio', 'quota_used', 'backend_error_rate')),
    operator          TEXT NOT NULL DEFAULT 'above' CHECK (operator IN ('above', 'below')),
    threshold         DOUBLE PRECISION NOT NULL,
    window_seconds    INTEGER NOT NULL,
    webhook_url       TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    firing            BOOLEAN NOT NULL DEFAULT FALSE,
    last_value        DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_detail       TEXT NOT NULL DEFAULT '',
    last_evaluated_at TIMESTAMP NULL,
    created_by        TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
INSERT INTO analytics_alert_rules_v14 (id, org_id, api_id, metric, operator, threshold, window_seconds, webhook_url, email,
    enabled, firing, last_value, last_evaluated_at, created_by, created_at, updated_at)
SELECT id, org_id, api_id, metric, operator, threshold, window_seconds, webhook_url, email,
    enabled, firing, last_value, last_evaluated_at, created_by, created_at, updated_at FROM analytics_alert_rules;

CREATE TABLE analytics_alert_events_v14 (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule_id        TEXT NOT NULL REFERENCES analytics_alert_rules_v14 (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('firing', 'cleared')),
    value          DOUBLE PRECISION NOT NULL,
    threshold      DOUBLE PRECISION NOT NULL,
    detail         TEXT NOT NULL DEFAULT '',
    notified       TEXT NOT NULL DEFAULT '',
    at             TIMESTAMP NOT NULL
);
INSERT INTO analytics_alert_events_v14 (id, org_id, rule_id, state, value, threshold, notified, at)
SELECT id, org_id, rule_id, state, value, threshold, notified, at FROM analytics_alert_events;

DROP TABLE analytics_alert_events;
DROP TABLE analytics_alert_rules;
-- Renaming rewrites the events table's foreign key to the new name.
ALTER TABLE analytics_alert_rules_v14 RENAME TO analytics_alert_rules;
ALTER TABLE analytics_alert_events_v14 RENAME TO analytics_alert_events;
CREATE INDEX analytics_alert_rules_org ON analytics_alert_rules (org_id, id);
CREATE INDEX analytics_alert_events_rule ON analytics_alert_events (org_id, rule_id, at);

-- +goose Down
DELETE FROM analytics_alert_rules WHERE metric NOT IN ('error_rate', 'p95_latency_ms', 'requests');
CREATE TABLE analytics_alert_rules_v13 (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    api_id            TEXT NOT NULL DEFAULT '',
    metric            TEXT NOT NULL CHECK (metric IN ('error_rate', 'p95_latency_ms', 'requests')),
    operator          TEXT NOT NULL DEFAULT 'above' CHECK (operator IN ('above', 'below')),
    threshold         DOUBLE PRECISION NOT NULL,
    window_seconds    INTEGER NOT NULL,
    webhook_url       TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    firing            BOOLEAN NOT NULL DEFAULT FALSE,
    last_value        DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_evaluated_at TIMESTAMP NULL,
    created_by        TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
INSERT INTO analytics_alert_rules_v13 SELECT id, org_id, api_id, metric, operator, threshold, window_seconds, webhook_url, email,
    enabled, firing, last_value, last_evaluated_at, created_by, created_at, updated_at FROM analytics_alert_rules;
CREATE TABLE analytics_alert_events_v13 (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule_id        TEXT NOT NULL REFERENCES analytics_alert_rules_v13 (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('firing', 'cleared')),
    value          DOUBLE PRECISION NOT NULL,
    threshold      DOUBLE PRECISION NOT NULL,
    notified       TEXT NOT NULL DEFAULT '',
    at             TIMESTAMP NOT NULL
);
INSERT INTO analytics_alert_events_v13 SELECT id, org_id, rule_id, state, value, threshold, notified, at FROM analytics_alert_events;
DROP TABLE analytics_alert_events;
DROP TABLE analytics_alert_rules;
ALTER TABLE analytics_alert_rules_v13 RENAME TO analytics_alert_rules;
ALTER TABLE analytics_alert_events_v13 RENAME TO analytics_alert_events;
CREATE INDEX analytics_alert_rules_org ON analytics_alert_rules (org_id, id);
CREATE INDEX analytics_alert_events_rule ON analytics_alert_events (org_id, rule_id, at);
ALTER TABLE analytics_rollups DROP COLUMN backend_errors;
ALTER TABLE analytics_events DROP COLUMN backend_failed;
