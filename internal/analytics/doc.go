// Package analytics owns what happened to every call through the gateway: the
// Sink that receives metering events (a bounded buffer and batch-writing
// workers; a full buffer drops and counts, never blocks; COPY on PostgreSQL,
// multi-row INSERT on SQLite, raw events and rollups in one transaction),
// per-minute rollups with latency histograms so percentiles never read raw
// rows, retention, the usage queries and their /api/v1/analytics JSON API and
// publisher dashboard, and alert rules (error rate, p95 latency, request
// volume and its change, quota used, backend down) with their evaluator and
// signed webhook and e-mail notifications. Webhooks go only to public
// addresses (netguard), checked when a rule is saved and at connect time.
//
// Tables: analytics_events (raw, daily partitions on PostgreSQL), analytics_rollups,
// analytics_alert_rules, analytics_alert_events. Queries read the applications
// table (owner_id) to scope developers to their own applications, the apis
// table for names, and subscriptions and tiers for quota alerts.
//
// analytics imports config, platform, store and account only (DESIGN §2), and
// pgx for COPY beneath the store's pool; the gateway reaches it through
// metering.Meter, which app connects.
package analytics
