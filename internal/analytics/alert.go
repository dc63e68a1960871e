package analytics

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	mailer "portico/internal/platform/mail"
	"portico/internal/platform/netguard"
)

// metricList names the metrics in messages, in the order the docs give them.
const metricList = "error_rate, p95_latency_ms, requests, requests_ratio, quota_used or backend_error_rate"

// fractionMetric reports whether a metric is a fraction from 0 to 1.
func fractionMetric(m string) bool {
	return m == MetricErrorRate || m == MetricQuotaUsed || m == MetricBackendErrorRate
}

var fractionExample = map[string]string{
	MetricErrorRate:        "0.05 is 5% of calls failing",
	MetricQuotaUsed:        "0.9 fires when a subscription has used 90% of its quota",
	MetricBackendErrorRate: "0.5 fires when half the calls cannot reach the backend",
}

// Limits on alert rules.
const (
	MinWindow    = time.Minute
	MaxWindow    = 24 * time.Hour
	maxURLLen    = 2000
	historyLimit = 100
)

// NewRule is what creating an alert rule takes (CONTRACT §5).
type NewRule struct {
	APIID      string   `json:"api_id"`
	Metric     string   `json:"metric"`
	Operator   string   `json:"operator"`
	Threshold  *float64 `json:"threshold"`
	Window     string   `json:"window"`
	WebhookURL string   `json:"webhook_url"`
	Email      string   `json:"email"`
}

func (in *NewRule) validate() (time.Duration, error) {
	in.APIID, in.Metric, in.Window = strings.TrimSpace(in.APIID), strings.TrimSpace(in.Metric), strings.TrimSpace(in.Window)
	in.WebhookURL, in.Email, in.Operator = strings.TrimSpace(in.WebhookURL), strings.TrimSpace(in.Email), strings.TrimSpace(in.Operator)
	switch in.Metric {
	case MetricErrorRate, MetricP95Latency, MetricRequests, MetricRequestsRatio, MetricQuotaUsed, MetricBackendErrorRate:
	case "":
		return 0, apperr.Invalid("metric", "required", "metric is required: "+metricList+".")
	default:
		return 0, apperr.Invalid("metric", "invalid_metric", "metric must be one of "+metricList+".")
	}
	if in.Operator == "" {
		in.Operator = OperatorAbove
	}
	if in.Operator != OperatorAbove && in.Operator != OperatorBelow {
		return 0, apperr.Invalid("operator", "invalid_operator", "operator must be above (the default) or below.")
	}
	if in.Threshold == nil {
		return 0, apperr.Invalid("threshold", "required", "threshold is required.")
	}
	th := *in.Threshold
	if th < 0 || math.IsNaN(th) || math.IsInf(th, 0) {
		return 0, apperr.Invalid("threshold", "invalid_threshold", "threshold must be a number of at least 0.")
	}
	if fractionMetric(in.Metric) && th > 1 {
		return 0, apperr.Invalid("threshold", "invalid_threshold", fmt.Sprintf("A %s threshold is a fraction from 0 to 1 (%s).", in.Metric, fractionExample[in.Metric]))
	}
	if in.Window == "" {
		in.Window = "5m"
	}
	w, err := time.ParseDuration(in.Window)
	if err != nil || w < MinWindow || w > MaxWindow || w%time.Minute != 0 {
		return 0, apperr.Invalid("window", "invalid_window", "window must be whole minutes from 1m to 24h, such as 5m or 1h.")
	}
	if in.WebhookURL != "" {
		u, err := url.Parse(in.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.WebhookURL) > maxURLLen {
			return 0, apperr.Invalid("webhook_url", "invalid_url", "webhook_url must be an absolute http or https URL.")
		}
	}
	if in.Email != "" {
		a, err := mail.ParseAddress(in.Email)
		if err != nil || a.Address != in.Email || len(in.Email) > 254 {
			return 0, apperr.Invalid("email", "invalid_email", "email must be one e-mail address, such as ops@example.com.")
		}
	}
	return w, nil
}

// CreateRule adds an alert rule for the caller's organisation (admins and publishers).
func (s *Service) CreateRule(ctx context.Context, p account.Principal, in NewRule) (Rule, error) {
	if err := p.Require(account.RoleAdmin, account.RolePublisher); err != nil {
		return Rule{}, err
	}
	w, err := in.validate()
	if err != nil {
		return Rule{}, err
	}
	if err := s.checkWebhook(ctx, in.WebhookURL); err != nil {
		return Rule{}, err
	}
	if in.APIID != "" {
		ok, err := s.repo.apiExists(ctx, p.OrgID, in.APIID)
		if err != nil {
			return Rule{}, err
		}
		if !ok {
			return Rule{}, ErrAPINotFound
		}
	}
	now := s.opts.Now()
	rule := Rule{ID: account.NewID(), OrgID: p.OrgID, APIID: in.APIID, Metric: in.Metric, Operator: in.Operator,
		Threshold: *in.Threshold, WindowSeconds: int(w / time.Second), WebhookURL: in.WebhookURL, Email: in.Email,
		Enabled: true, CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now}
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.createRule(ctx, &rule); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "alert.create", "alert_rule", rule.ID, map[string]any{"metric": rule.Metric, "threshold": rule.Threshold, "api_id": rule.APIID})
	})
	return rule, err
}

// Rule returns one rule of the caller's organisation.
func (s *Service) Rule(ctx context.Context, p account.Principal, id string) (Rule, error) {
	if err := p.Require(account.RoleAdmin, account.RolePublisher); err != nil {
		return Rule{}, err
	}
	return s.repo.rule(ctx, p.OrgID, id)
}

// Rules lists the organisation's rules by id, after the id after, at most limit.
func (s *Service) Rules(ctx context.Context, p account.Principal, after string, limit int) ([]Rule, error) {
	if err := p.Require(account.RoleAdmin, account.RolePublisher); err != nil {
		return nil, err
	}
	return s.repo.listRules(ctx, p.OrgID, after, limit)
}

// DeleteRule deletes a rule and its history.
func (s *Service) DeleteRule(ctx context.Context, p account.Principal, id string) error {
	if err := p.Require(account.RoleAdmin, account.RolePublisher); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.deleteRule(ctx, p.OrgID, id); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "alert.delete", "alert_rule", id, nil)
	})
}

// History lists the latest firings and clearings, of one rule or (ruleID "")
// of every rule of the organisation, newest first.
func (s *Service) History(ctx context.Context, p account.Principal, ruleID string) ([]AlertEvent, error) {
	if err := p.Require(account.RoleAdmin, account.RolePublisher); err != nil {
		return nil, err
	}
	if ruleID != "" {
		if _, err := s.repo.rule(ctx, p.OrgID, ruleID); err != nil {
			return nil, err
		}
	}
	return s.repo.history(ctx, p.OrgID, ruleID, historyLimit)
}

// WebhookSecret is the key a rule's webhook receiver checks
// X-Portico-Signature with: derived from the service's key and the rule id,
// so it is never stored.
func (s *Service) WebhookSecret(ruleID string) string {
	m := hmac.New(sha256.New, s.opts.WebhookKey)
	m.Write([]byte("alert-rule:" + ruleID))
	return "whsec_" + hex.EncodeToString(m.Sum(nil))
}

// Sign returns the X-Portico-Signature of body under secret:
// "sha256=" and the hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ---- evaluation ----

// RunEvaluator evaluates every enabled rule each opts.EvaluateEvery until ctx ends.
func (s *Service) RunEvaluator(ctx context.Context) {
	t := time.NewTicker(s.opts.EvaluateEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Evaluate(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("analytics: alert evaluation failed", "err", err)
			}
		}
	}
}

// Evaluate checks every enabled rule once: a rule whose metric crosses its
// threshold starts firing and notifies; a firing rule whose metric is back
// clears and notifies; otherwise nothing is sent.
func (s *Service) Evaluate(ctx context.Context) error {
	rules, err := s.repo.enabledRules(ctx)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	for _, r := range rules {
		if err := s.evaluate(ctx, r, now); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Warn("analytics: alert rule not evaluated", "rule_id", r.ID, "err", err)
		}
	}
	return nil
}

// reading is a rule's metric at one evaluation.
type reading struct {
	Value float64
	// Detail says what the value is about, for people (history, notifications).
	Detail string
	// SubscriptionID is the subscription a quota_used reading is about.
	SubscriptionID string
}

// metric reads a rule's metric over its window (whole minutes, the current
// one included; see quotaUsed and requestsRatio for theirs).
func (s *Service) metric(ctx context.Context, r Rule, now time.Time) (reading, error) {
	switch r.Metric {
	case MetricQuotaUsed:
		return s.quotaUsed(ctx, r, now)
	case MetricRequestsRatio:
		return s.requestsRatio(ctx, r, now)
	}
	f := filter{OrgID: r.OrgID, APIID: r.APIID, From: now.Add(-r.Window()).Truncate(time.Minute).Unix(),
		To: now.Truncate(time.Minute).Add(time.Minute).Unix()}
	rows, err := s.repo.aggregate(ctx, f, groupNone, 0, 0)
	if err != nil || len(rows) == 0 {
		return reading{}, err
	}
	a := rows[0]
	switch r.Metric {
	case MetricErrorRate:
		return reading{Value: fraction(a.Errors, a.Requests)}, nil
	case MetricBackendErrorRate:
		return reading{Value: fraction(a.BackendErrors, a.Requests),
			Detail: fmt.Sprintf("%d of %d calls could not be completed at the backend (refused, reset or timed out)", a.BackendErrors, a.Requests)}, nil
	case MetricP95Latency:
		return reading{Value: ms(a.Hist.Quantile(0.95, a.LatencyMaxUS))}, nil
	default:
		return reading{Value: float64(a.Requests)}, nil
	}
}

func fraction(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func (r Rule) breached(v float64) bool {
	if r.Operator == OperatorBelow {
		return v < r.Threshold
	}
	return v > r.Threshold
}

func (s *Service) evaluate(ctx context.Context, r Rule, now time.Time) error {
	rd, err := s.metric(ctx, r, now)
	if err != nil {
		return err
	}
	v, detail := rd.Value, rd.Detail
	breached := r.breached(v)
	if breached == r.Firing {
		return s.repo.touchRule(ctx, r.ID, v, detail, now)
	}
	state := StateCleared
	if breached {
		state = StateFiring
	}
	ev := AlertEvent{ID: account.NewID(), OrgID: r.OrgID, RuleID: r.ID, State: state, Value: v, Threshold: r.Threshold, Detail: detail, At: now}
	moved := false
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		if moved, err = s.repo.setFiring(ctx, r.ID, breached, v, detail, now); err != nil || !moved {
			return err
		}
		return s.repo.addAlertEvent(ctx, &ev)
	})
	if err != nil || !moved {
		return err // another node made the move and notifies
	}
	// After commit: never send from inside a transaction.
	notified := s.notify(ctx, r, ev, rd.SubscriptionID)
	return s.repo.setNotified(ctx, ev.ID, notified)
}

// Notification is the JSON body of an alert webhook.
type Notification struct {
	ID        string  `json:"id"`
	RuleID    string  `json:"rule_id"`
	OrgID     string  `json:"org_id"`
	APIID     string  `json:"api_id"`
	Metric    string  `json:"metric"`
	Operator  string  `json:"operator"`
	Threshold float64 `json:"threshold"`
	Window    string  `json:"window"`
	Value     float64 `json:"value"`
	State     string  `json:"state"`
	// Detail says what the value is about, e.g. which subscription's quota is
	// nearly used (quota_used) or how many calls failed at the backend.
	Detail string `json:"detail,omitempty"`
	// SubscriptionID names the subscription a quota_used alert is about.
	SubscriptionID string    `json:"subscription_id,omitempty"`
	At             time.Time `json:"at"`
	URL            string    `json:"url"`
}

func windowString(r Rule) string {
	w := r.Window()
	if w%time.Hour == 0 {
		return fmt.Sprintf("%dh", int(w/time.Hour))
	}
	return fmt.Sprintf("%dm", int(w/time.Minute))
}

// notify sends the webhook and the e-mail and says what became of them.
func (s *Service) notify(ctx context.Context, r Rule, ev AlertEvent, subscriptionID string) string {
	n := Notification{ID: ev.ID, RuleID: r.ID, OrgID: r.OrgID, APIID: r.APIID, Metric: r.Metric, Operator: r.Operator,
		Threshold: r.Threshold, Window: windowString(r), Value: ev.Value, State: ev.State, Detail: ev.Detail, At: ev.At,
		SubscriptionID: subscriptionID, URL: strings.TrimSuffix(s.opts.BaseURL, "/") + "/publisher/analytics"}
	var out []string
	if r.WebhookURL != "" {
		out = append(out, "webhook: "+s.sendWebhook(ctx, r, n))
	}
	if r.Email != "" {
		out = append(out, "email: "+s.sendEmail(ctx, r, n))
	}
	return strings.Join(out, "; ")
}

func (s *Service) sendWebhook(ctx context.Context, r Rule, n Notification) string {
	body, err := json.Marshal(n)
	if err != nil {
		return "not sent: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := newPost(ctx, r.WebhookURL, body)
	if err != nil {
		return "not sent: bad URL"
	}
	req.Header.Set("X-Portico-Signature", Sign(s.WebhookSecret(r.ID), body))
	req.Header.Set("X-Portico-Event", "alert."+n.State)
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrNotPublic) {
			// The host was public when the rule was saved; it resolves inside now.
			s.log.Warn("analytics: alert webhook refused: not a public address", "rule_id", r.ID, "host", req.URL.Hostname())
			return "refused: not a public address"
		}
		s.log.Warn("analytics: alert webhook failed", "rule_id", r.ID, "err", err)
		return "failed"
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		s.log.Warn("analytics: alert webhook refused", "rule_id", r.ID, "status", resp.StatusCode)
	}
	return fmt.Sprint(resp.StatusCode)
}

func (s *Service) sendEmail(ctx context.Context, r Rule, n Notification) string {
	if s.opts.SMTPURL == "" {
		return "not sent: SMTP_URL is not set"
	}
	host := "localhost"
	if b, err := url.Parse(s.opts.BaseURL); err == nil && b.Hostname() != "" {
		host = b.Hostname()
	}
	m, err := mailer.New(s.opts.SMTPURL, "Portico alerts <portico-alerts@"+host+">")
	if err != nil {
		return "not sent: bad SMTP_URL"
	}
	subject := fmt.Sprintf("[Portico] %s %s %v: %s", r.Metric, r.Operator, r.Threshold, n.State)
	var body strings.Builder
	fmt.Fprintf(&body, "Alert %s is %s.\n\n%s over the last %s: %v (threshold %s %v).\nAPI: %s\nAt: %s\n",
		r.ID, n.State, r.Metric, n.Window, n.Value, r.Operator, r.Threshold, orAll(r.APIID), n.At.Format(time.RFC3339))
	if n.Detail != "" {
		fmt.Fprintf(&body, "Detail: %s\n", n.Detail)
	}
	fmt.Fprintf(&body, "\n%s\n", n.URL)
	if err := m.Send(ctx, r.Email, subject, body.String()); err != nil {
		s.log.Warn("analytics: alert e-mail failed", "rule_id", r.ID, "err", err)
		return "failed"
	}
	return "sent"
}

func orAll(apiID string) string {
	if apiID == "" {
		return "every API"
	}
	return apiID
}

func newPost(ctx context.Context, u string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Portico-Alerts/1")
	return req, nil
}
