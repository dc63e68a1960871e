package analytics

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/render"
)

// pageDashboard is the publisher's analytics page.
const pageDashboard = "analytics/dashboard"

// Pages serves the analytics dashboard. Its numbers come from the JSON API,
// fetched and charted in the browser.
type Pages struct {
	web *account.Web
	r   *render.Renderer
}

// NewPages returns the dashboard pages.
func NewPages(web *account.Web, r *render.Renderer) *Pages { return &Pages{web: web, r: r} }

// Register adds GET /publisher/analytics to e, behind the browser middleware mw,
// for admins and publishers.
func (p *Pages) Register(e *echo.Echo, mw []echo.MiddlewareFunc) {
	mw = append(append([]echo.MiddlewareFunc{}, mw...), p.web.RequireRole(account.RoleAdmin, account.RolePublisher))
	e.GET("/publisher/analytics", p.dashboard, mw...)
}

type rangeOption struct{ Value, Label string }

type dashboardView struct {
	render.Base
	APIID, Range, From, To string
	Ranges                 []rangeOption
}

var dashboardRanges = []rangeOption{{"1h", "Last hour"}, {"6h", "Last 6 hours"}, {"24h", "Last 24 hours"},
	{"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"custom", "Custom…"}}

func (p *Pages) dashboard(c echo.Context) error {
	b, err := p.web.Base(c, "analytics", "Analytics", nil)
	if err != nil {
		return err
	}
	v := dashboardView{Base: b, APIID: c.QueryParam("api_id"), Range: c.QueryParam("range"), Ranges: dashboardRanges}
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
	return p.r.Page(c.Response(), http.StatusOK, pageDashboard, v)
}
