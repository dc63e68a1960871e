package analytics

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

// pageDashboard is the publisher's analytics page.
const pageDashboard = "analytics/dashboard"

// Pages serves the analytics dashboard and its alert-rule form. The numbers
// come from the JSON API, fetched and charted in the browser.
type Pages struct {
	svc *Service
	web *account.Web
	r   *render.Renderer
}

// NewPages returns the dashboard pages.
func NewPages(svc *Service, web *account.Web, r *render.Renderer) *Pages {
	return &Pages{svc: svc, web: web, r: r}
}

// Register adds GET /publisher/analytics and POST /publisher/analytics/alerts
// to e, behind the browser middleware mw (CSRF included), for admins and
// publishers.
func (p *Pages) Register(e *echo.Echo, mw []echo.MiddlewareFunc) {
	mw = append(append([]echo.MiddlewareFunc{}, mw...), p.web.RequireRole(account.RoleAdmin, account.RolePublisher))
	e.GET("/publisher/analytics", p.dashboard, mw...)
	e.POST("/publisher/analytics/alerts", p.createRule, mw...)
}

type rangeOption struct{ Value, Label string }

// ruleForm is the "New alert rule" form, kept as typed when it is refused.
type ruleForm struct {
	Metric, Operator                         string
	APIID, Threshold, Window, Webhook, Email render.Field
	FormError                                string
}

type dashboardView struct {
	render.Base
	APIID, Range, From, To string
	Ranges                 []rangeOption
	Metrics                []rangeOption
	Rule                   ruleForm
}

var dashboardRanges = []rangeOption{{"1h", "Last hour"}, {"6h", "Last 6 hours"}, {"24h", "Last 24 hours"},
	{"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"custom", "Custom…"}}

// ruleMetrics are the alert kinds the form offers, with what each threshold means.
var ruleMetrics = []rangeOption{
	{MetricErrorRate, "Error rate (fraction of calls answered 4xx/5xx, 0–1)"},
	{MetricP95Latency, "p95 latency (ms)"},
	{MetricRequests, "Requests in the window (spike: above; drop: below)"},
	{MetricRequestsRatio, "Requests against the window before (2 = doubled, 0.5 = halved)"},
	{MetricQuotaUsed, "Quota used by the busiest subscription (0–1; hour, day or month tiers)"},
	{MetricBackendErrorRate, "Backend down (fraction of calls the backend could not complete, 0–1)"},
}

func newRuleForm() ruleForm {
	return ruleForm{Metric: MetricErrorRate, Operator: OperatorAbove,
		APIID:     render.Field{Name: "api_id", Label: "API id (empty: every API)", Type: "text"},
		Threshold: render.Field{Name: "threshold", Label: "Threshold", Type: "text", Required: true},
		Window:    render.Field{Name: "window", Label: "Window (1m to 24h)", Type: "text", Value: "5m"},
		Webhook:   render.Field{Name: "webhook_url", Label: "Webhook URL (public http or https)", Type: "url"},
		Email:     render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "email"},
	}
}

func (p *Pages) view(c echo.Context, form ruleForm) (dashboardView, error) {
	b, err := p.web.Base(c, "analytics", "Analytics", nil)
	if err != nil {
		return dashboardView{}, err
	}
	b.Flash = c.QueryParam("done")
	v := dashboardView{Base: b, APIID: c.QueryParam("api_id"), Range: c.QueryParam("range"), Ranges: dashboardRanges,
		Metrics: ruleMetrics, Rule: form}
	known := false
	for _, r := range dashboardRanges {
		known = known || r.Value == v.Range
	}
	if !known {
		v.Range = "24h"
	}
	// datetime-local values: kept only when they parse, so the form shows what was asked.
	for _, f := range []struct {
		in  string
		out *string
	}{{c.QueryParam("from"), &v.From}, {c.QueryParam("to"), &v.To}} {
		if _, err := time.Parse("2006-01-02T15:04", f.in); err == nil {
			*f.out = f.in
		}
	}
	return v, nil
}

func (p *Pages) dashboard(c echo.Context) error {
	v, err := p.view(c, newRuleForm())
	if err != nil {
		return err
	}
	return p.r.Page(c.Response(), http.StatusOK, pageDashboard, v)
}

// createRule adds an alert rule from the form: 303 back to the dashboard, or
// the page again with the error beside its field and what was typed kept.
func (p *Pages) createRule(c echo.Context) error {
	f := newRuleForm()
	f.Metric, f.Operator = c.FormValue("metric"), c.FormValue("operator")
	f.APIID.Value, f.Threshold.Value, f.Window.Value = c.FormValue("api_id"), c.FormValue("threshold"), c.FormValue("window")
	f.Webhook.Value, f.Email.Value = c.FormValue("webhook_url"), c.FormValue("email")
	in := NewRule{APIID: f.APIID.Value, Metric: f.Metric, Operator: f.Operator, Window: f.Window.Value,
		WebhookURL: f.Webhook.Value, Email: f.Email.Value}
	var err error
	if s := strings.TrimSpace(f.Threshold.Value); s != "" {
		th, perr := strconv.ParseFloat(s, 64)
		if perr != nil {
			err = apperr.Invalid("threshold", "invalid_threshold", "threshold must be a number, such as 0.05 or 250.")
		}
		in.Threshold = &th
	}
	if err == nil {
		_, err = p.svc.CreateRule(c.Request().Context(), account.Caller(c), in)
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/publisher/analytics?done="+url.QueryEscape("Added the alert rule.")+"#alerts")
	}
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindForbidden {
		return err
	}
	switch ae.Field {
	case "threshold":
		f.Threshold.Error = ae.Message
	case "window":
		f.Window.Error = ae.Message
	case "webhook_url":
		f.Webhook.Error = ae.Message
	case "email":
		f.Email.Error = ae.Message
	case "api_id", "":
		if ae.Kind == apperr.KindNotFound {
			f.APIID.Error = "No API of your organisation has that id."
		} else if ae.Field == "api_id" {
			f.APIID.Error = ae.Message
		} else {
			f.FormError = ae.Message
		}
	default: // metric, operator
		f.FormError = ae.Message
	}
	v, verr := p.view(c, f)
	if verr != nil {
		return verr
	}
	status := apperr.Status(ae.Kind)
	if ae.Kind == apperr.KindNotFound {
		status = http.StatusBadRequest // the page exists; a field of the form is wrong
	}
	return p.r.Page(c.Response(), status, pageDashboard, v)
}
