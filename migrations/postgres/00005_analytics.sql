-- Analytics: every metered gateway call (raw events, kept a few days), per-minute
-- rollups with latency histograms (kept long; dashboards, percentiles and alerts
-- read only these), alert rules and their history.

-- +goose Up
-- Raw events, one row per call, in daily partitions (analytics_partitions.events_YYYYMMDD,
-- created ahead by the sink and dropped whole by the retention janitor) with a
-- default partition so an insert never fails for want of one. The partitions live
-- in their own schema: public holds the same tables on both databases.
CREATE SCHEMA IF NOT EXISTS analytics_partitions;
CREATE TABLE analytics_events (
    org_id          TEXT NOT NULL,
    api_id          TEXT NOT NULL,
    operation       TEXT NOT NULL DEFAULT '',
    application_id  TEXT NOT NULL DEFAULT '',
    subscription_id TEXT NOT NULL DEFAULT '',
    status          INTEGER NOT NULL,
    latency_us      BIGINT NOT NULL,
    bytes_in        BIGINT NOT NULL DEFAULT 0,
    bytes_out       BIGINT NOT NULL DEFAULT 0,
    at              TIMESTAMP NOT NULL
) PARTITION BY RANGE (at);
CREATE TABLE analytics_partitions.events_default PARTITION OF analytics_events DEFAULT;
CREATE INDEX analytics_events_org_at ON analytics_events (org_id, at);
CREATE INDEX analytics_events_at ON analytics_events (at);

-- Per-minute rollups by API, operation, application and status. minute is the
-- Unix time (seconds, UTC) the minute starts at, so hour and day buckets are
-- integer arithmetic on both databases. h00..h36 count latencies in log-spaced
-- buckets (upper bounds 250 us * 2^(i/2), h36 everything above ~46 s; see
-- internal/analytics/histogram.go): percentiles come from these, never raw rows.
-- errors counts statuses >= 400.
CREATE TABLE analytics_rollups (
    org_id          TEXT NOT NULL,
    api_id          TEXT NOT NULL,
    operation       TEXT NOT NULL DEFAULT '',
    application_id  TEXT NOT NULL DEFAULT '',
    status          INTEGER NOT NULL,
    status_class    INTEGER NOT NULL, -- 1..5: the status's hundreds
    minute          BIGINT NOT NULL,
    count           BIGINT NOT NULL DEFAULT 0,
    errors          BIGINT NOT NULL DEFAULT 0,
    latency_sum_us  BIGINT NOT NULL DEFAULT 0,
    latency_max_us  BIGINT NOT NULL DEFAULT 0,
    bytes_in        BIGINT NOT NULL DEFAULT 0,
    bytes_out       BIGINT NOT NULL DEFAULT 0,
    h00             BIGINT NOT NULL DEFAULT 0,
    h01             BIGINT NOT NULL DEFAULT 0,
    h02             BIGINT NOT NULL DEFAULT 0,
    h03             BIGINT NOT NULL DEFAULT 0,
    h04             BIGINT NOT NULL DEFAULT 0,
    h05             BIGINT NOT NULL DEFAULT 0,
    h06             BIGINT NOT NULL DEFAULT 0,
    h07             BIGINT NOT NULL DEFAULT 0,
    h08             BIGINT NOT NULL DEFAULT 0,
    h09             BIGINT NOT NULL DEFAULT 0,
    h10             BIGINT NOT NULL DEFAULT 0,
    h11             BIGINT NOT NULL DEFAULT 0,
    h12             BIGINT NOT NULL DEFAULT 0,
    h13             BIGINT NOT NULL DEFAULT 0,
    h14             BIGINT NOT NULL DEFAULT 0,
    h15             BIGINT NOT NULL DEFAULT 0,
    h16             BIGINT NOT NULL DEFAULT 0,
    h17             BIGINT NOT NULL DEFAULT 0,
    h18             BIGINT NOT NULL DEFAULT 0,
    h19             BIGINT NOT NULL DEFAULT 0,
    h20             BIGINT NOT NULL DEFAULT 0,
    h21             BIGINT NOT NULL DEFAULT 0,
    h22             BIGINT NOT NULL DEFAULT 0,
    h23             BIGINT NOT NULL DEFAULT 0,
    h24             BIGINT NOT NULL DEFAULT 0,
    h25             BIGINT NOT NULL DEFAULT 0,
    h26             BIGINT NOT NULL DEFAULT 0,
    h27             BIGINT NOT NULL DEFAULT 0,
    h28             BIGINT NOT NULL DEFAULT 0,
    h29             BIGINT NOT NULL DEFAULT 0,
    h30             BIGINT NOT NULL DEFAULT 0,
    h31             BIGINT NOT NULL DEFAULT 0,
    h32             BIGINT NOT NULL DEFAULT 0,
    h33             BIGINT NOT NULL DEFAULT 0,
    h34             BIGINT NOT NULL DEFAULT 0,
    h35             BIGINT NOT NULL DEFAULT 0,
    h36             BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, minute, api_id, operation, application_id, status)
);
CREATE INDEX analytics_rollups_minute ON analytics_rollups (minute);
CREATE INDEX analytics_rollups_org_api ON analytics_rollups (org_id, api_id, minute);
CREATE INDEX analytics_rollups_org_app ON analytics_rollups (org_id, application_id, minute);

-- Alert rules. api_id '' watches every API of the organisation. firing is the
-- rule's state: a rule notifies when it starts firing and again only after it
-- has cleared.
CREATE TABLE analytics_alert_rules (
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
CREATE INDEX analytics_alert_rules_org ON analytics_alert_rules (org_id, id);

-- Alert history: each time a rule fires or clears, and what became of the
-- notifications.
CREATE TABLE analytics_alert_events (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    rule_id        TEXT NOT NULL REFERENCES analytics_alert_rules (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('firing', 'cleared')),
    value          DOUBLE PRECISION NOT NULL,
    threshold      DOUBLE PRECISION NOT NULL,
    notified       TEXT NOT NULL DEFAULT '', -- e.g. "webhook: 204; email: sent"
    at             TIMESTAMP NOT NULL
);
CREATE INDEX analytics_alert_events_rule ON analytics_alert_events (org_id, rule_id, at);

-- +goose Down
DROP TABLE analytics_alert_events;
DROP TABLE analytics_alert_rules;
DROP TABLE analytics_rollups;
DROP TABLE analytics_events;
DROP SCHEMA analytics_partitions CASCADE;
