package analytics

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/httpx"
)

// API serves /api/v1/analytics and /api/v1/alerts.
type API struct {
	svc *Service
}

// NewAPI returns the JSON handlers.
func NewAPI(svc *Service) *API { return &API{svc: svc} }

// Register adds the routes to the /api/v1 group; auth is the authentication
// middleware every route needs.
func (a *API) Register(g *echo.Group, auth echo.MiddlewareFunc) {
	g.GET("/analytics/summary", a.summary, auth)
	g.GET("/analytics/timeseries", a.timeseries, auth)
	g.GET("/analytics/top/:dimension", a.top, auth)
	g.GET("/analytics/errors", a.errors, auth)
	g.GET("/alerts", a.listRules, auth)
	g.POST("/alerts", a.createRule, auth)
	g.GET("/alerts/history", a.history, auth)
	g.GET("/alerts/:id", a.getRule, auth)
	g.DELETE("/alerts/:id", a.deleteRule, auth)
	g.GET("/alerts/:id/history", a.history, auth)
}

func (a *API) query(c echo.Context) (Query, error) {
	return ParseQuery(c.QueryParams(), a.svc.opts.Now())
}

func (a *API) summary(c echo.Context) error {
	q, err := a.query(c)
	if err != nil {
		return err
	}
	s, err := a.svc.Summary(c.Request().Context(), account.Caller(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (a *API) timeseries(c echo.Context) error {
	q, err := a.query(c)
	if err != nil {
		return err
	}
	ts, err := a.svc.Timeseries(c.Request().Context(), account.Caller(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ts)
}

type itemsJSON[T any] struct {
	Items []T `json:"items"`
}

func (a *API) top(c echo.Context) error {
	q, err := a.query(c)
	if err != nil {
		return err
	}
	items, err := a.svc.Top(c.Request().Context(), account.Caller(c), q, c.Param("dimension"))
	if err != nil {
		return err
	}
	if items == nil {
		items = []TopItem{}
	}
	return c.JSON(http.StatusOK, itemsJSON[TopItem]{Items: items})
}

func (a *API) errors(c echo.Context) error {
	q, err := a.query(c)
	if err != nil {
		return err
	}
	q.Limit = MaxTop
	items, err := a.svc.Top(c.Request().Context(), account.Caller(c), q, ByStatus)
	if err != nil {
		return err
	}
	out := []TopItem{}
	for _, it := range items {
		if it.Errors > 0 {
			out = append(out, it)
		}
	}
	return c.JSON(http.StatusOK, itemsJSON[TopItem]{Items: out})
}

// RuleJSON is an alert rule as the API shows it.
type RuleJSON struct {
	ID              string     `json:"id"`
	APIID           string     `json:"api_id"`
	Metric          string     `json:"metric"`
	Operator        string     `json:"operator"`
	Threshold       float64    `json:"threshold"`
	Window          string     `json:"window"`
	WebhookURL      string     `json:"webhook_url"`
	WebhookSecret   string     `json:"webhook_secret,omitempty"`
	Email           string     `json:"email"`
	Enabled         bool       `json:"enabled"`
	Firing          bool       `json:"firing"`
	LastValue       float64    `json:"last_value"`
	LastDetail      string     `json:"last_detail,omitempty"`
	LastEvaluatedAt *time.Time `json:"last_evaluated_at"`
	CreatedAt       time.Time  `json:"created_at"`
}

func (a *API) ruleJSON(r Rule) RuleJSON {
	out := RuleJSON{ID: r.ID, APIID: r.APIID, Metric: r.Metric, Operator: r.Operator, Threshold: r.Threshold,
		Window: windowString(r), WebhookURL: r.WebhookURL, Email: r.Email, Enabled: r.Enabled, Firing: r.Firing,
		LastValue: r.LastValue, LastDetail: r.LastDetail, LastEvaluatedAt: r.LastEvaluatedAt, CreatedAt: r.CreatedAt}
	if r.WebhookURL != "" {
		out.WebhookSecret = a.svc.WebhookSecret(r.ID)
	}
	return out
}

func (a *API) createRule(c echo.Context) error {
	var in NewRule
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	r, err := a.svc.CreateRule(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a.ruleJSON(r))
}

func (a *API) getRule(c echo.Context) error {
	r, err := a.svc.Rule(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.ruleJSON(r))
}

func (a *API) listRules(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	rules, err := a.svc.Rules(c.Request().Context(), account.Caller(c), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	items := make([]RuleJSON, len(rules))
	for i, r := range rules {
		items[i] = a.ruleJSON(r)
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(r RuleJSON) string { return r.ID }))
}

func (a *API) deleteRule(c echo.Context) error {
	if err := a.svc.DeleteRule(c.Request().Context(), account.Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// AlertEventJSON is one entry of the alert history.
type AlertEventJSON struct {
	ID        string    `json:"id"`
	RuleID    string    `json:"rule_id"`
	State     string    `json:"state"`
	Value     float64   `json:"value"`
	Threshold float64   `json:"threshold"`
	Detail    string    `json:"detail,omitempty"`
	Notified  string    `json:"notified"`
	At        time.Time `json:"at"`
}

func (a *API) history(c echo.Context) error {
	evs, err := a.svc.History(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	items := make([]AlertEventJSON, len(evs))
	for i, e := range evs {
		items[i] = AlertEventJSON{ID: e.ID, RuleID: e.RuleID, State: e.State, Value: e.Value, Threshold: e.Threshold, Detail: e.Detail, Notified: e.Notified, At: e.At}
	}
	return c.JSON(http.StatusOK, itemsJSON[AlertEventJSON]{Items: items})
}
