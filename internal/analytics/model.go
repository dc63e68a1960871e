package analytics

import (
	"time"

	"portico/internal/platform/metering"
)

// eventRow is one raw event as stored.
type eventRow struct {
	OrgID          string
	APIID          string `gorm:"column:api_id"`
	Operation      string
	ApplicationID  string
	SubscriptionID string
	Status         int
	LatencyUS      int64 `gorm:"column:latency_us"`
	BytesIn        int64
	BytesOut       int64
	At             time.Time
	BackendFailed  bool
}

// TableName pins the table name.
func (eventRow) TableName() string { return "analytics_events" }

func rowOf(e metering.Event) eventRow {
	at := e.Time.UTC()
	if e.Time.IsZero() {
		at = time.Now().UTC()
	}
	return eventRow{OrgID: e.OrgID, APIID: e.APIID, Operation: e.Operation, ApplicationID: e.ApplicationID,
		SubscriptionID: e.SubscriptionID, Status: e.Status, LatencyUS: e.Latency.Microseconds(),
		BytesIn: e.BytesIn, BytesOut: e.BytesOut, At: at, BackendFailed: e.BackendFailed}
}

// rollupKey is a rollup row's primary key.
type rollupKey struct {
	OrgID, APIID, Operation, ApplicationID string
	Status                                 int
	Minute                                 int64 // Unix seconds at the start of the minute
}

// rollup is one minute's counts for a key; a batch of events folds into a few.
type rollup struct {
	rollupKey
	Count, Errors, LatencySumUS, LatencyMaxUS, BytesIn, BytesOut int64
	BackendErrors                                                int64
	Hist                                                         Histogram
}

// isError is what the errors columns and the error rate count: 4xx and 5xx.
func isError(status int) bool { return status >= 400 }

func (r *rollup) add(e eventRow) {
	us := e.LatencyUS
	if us < 0 {
		us = 0
	}
	r.Count++
	if isError(e.Status) {
		r.Errors++
	}
	r.LatencySumUS += us
	r.LatencyMaxUS = max(r.LatencyMaxUS, us)
	r.BytesIn += e.BytesIn
	r.BytesOut += e.BytesOut
	if e.BackendFailed {
		r.BackendErrors++
	}
	r.Hist[bucketOf(us)]++
}

// Rule is an alert rule.
type Rule struct {
	ID              string `gorm:"primaryKey"`
	OrgID           string
	APIID           string `gorm:"column:api_id"` // "" = every API of the organisation
	Metric          string
	Operator        string // "above" or "below"
	Threshold       float64
	WindowSeconds   int
	WebhookURL      string `gorm:"column:webhook_url"`
	Email           string
	Enabled         bool
	Firing          bool
	LastValue       float64
	LastDetail      string // e.g. which subscription's quota (quota_used)
	LastEvaluatedAt *time.Time
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName pins the table name.
func (Rule) TableName() string { return "analytics_alert_rules" }

// Window is the rule's window as a duration.
func (r Rule) Window() time.Duration { return time.Duration(r.WindowSeconds) * time.Second }

// AlertEvent is one entry of a rule's history: it fired or it cleared.
type AlertEvent struct {
	ID        string `gorm:"primaryKey"`
	OrgID     string
	RuleID    string
	State     string // "firing" or "cleared"
	Value     float64
	Threshold float64
	Detail    string
	Notified  string
	At        time.Time
}

// TableName pins the table name.
func (AlertEvent) TableName() string { return "analytics_alert_events" }

// Metrics a rule can watch, and the alert states.
const (
	MetricErrorRate  = "error_rate"
	MetricP95Latency = "p95_latency_ms"
	MetricRequests   = "requests"
	// MetricRequestsRatio compares the window's requests with the window
	// before it: (n+1)/(m+1), so quiet windows compare sanely. Above 2 is a
	// spike (traffic doubled), below 0.5 a drop (halved).
	MetricRequestsRatio = "requests_ratio"
	// MetricQuotaUsed is the largest fraction (0..1) of a subscription's
	// request quota used in its current hour, day or month.
	MetricQuotaUsed = "quota_used"
	// MetricBackendErrorRate is the fraction of calls the gateway could not
	// complete at the backend (refused, reset, timed out).
	MetricBackendErrorRate = "backend_error_rate"

	OperatorAbove = "above"
	OperatorBelow = "below"

	StateFiring  = "firing"
	StateCleared = "cleared"
)
