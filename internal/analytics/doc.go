// Package analytics owns what happened to every call through the gateway: the
// Sink that receives metering events (a bounded buffer and batch-writing
// workers; a full buffer drops and counts, never blocks), per-minute rollups
// with latency histograms so percentiles never read raw rows, retention, the
// usage queries and their /api/v1/analytics JSON API and publisher dashboard,
// and alert rules with their evaluator and signed webhook and e-mail
// notifications.
//
// Tables: analytics_events (raw, daily partitions on PostgreSQL), analytics_rollups,
// analytics_alert_rules, analytics_alert_events. Queries read the applications
// table (owner_id) to scope developers to their own applications, and the apis
// table for names.
//
// analytics imports config, platform, store and account only (DESIGN §2); the
// gateway reaches it through metering.Meter, which app connects.
package analytics
