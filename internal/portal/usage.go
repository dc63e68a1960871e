package portal

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/platform/period"
	"portico/internal/platform/render"
)

// usagePeriods are the ranges the usage page offers.
var usagePeriods = []struct {
	Value, Label string
	Span         time.Duration
}{
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
}

type usageRow struct {
	Sub       access.SubscriptionDetail
	Limit     string
	Requests  int64
	Errors    int64
	ErrorRate string
	// Remaining is what the tier's current window has left, "" when unknown.
	Remaining string
	Window    string
}

type usageView struct {
	render.Base
	PortalPath, AppPath string
	App                 access.Application
	Period              string
	Periods             []struct {
		Value, Label string
		Span         time.Duration
	}
	Rows      []usageRow
	Available bool
	Other     []APIUsage // traffic to APIs the application no longer subscribes to
}

// windowStart is where the tier's current rate-limit window began, for the
// windows analytics can count (its rollups are per minute); ok is false for
// per-second tiers.
func windowStart(now time.Time, per string) (time.Time, bool) {
	switch per {
	case "minute", "hour", "day", "month":
		start, _ := period.Window(per, now)
		return start, true
	}
	return time.Time{}, false
}

func (w *Web) usagePage(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	ctx := ctxOf(c)
	period := c.QueryParam("period")
	span := usagePeriods[0].Span
	found := false
	for _, p := range usagePeriods {
		if p.Value == period {
			span, found = p.Span, true
		}
	}
	if !found {
		period = usagePeriods[0].Value
	}
	subs, err := w.access.SubscriptionDetails(ctx, me, access.SubscriptionQuery{ApplicationID: app.ID})
	if err != nil {
		return err
	}
	tiers, err := w.catalog.Tiers(ctx, me)
	if err != nil {
		return err
	}
	byName := map[string]catalog.Tier{}
	for _, t := range tiers {
		byName[t.Name] = t
	}
	base, err := w.base(c, "applications", "Usage of "+app.Name, org)
	if err != nil {
		return err
	}
	path := "/portal/" + org.Slug
	v := usageView{Base: base, PortalPath: path, AppPath: path + "/applications/" + app.ID, App: app, Period: period,
		Periods: usagePeriods, Available: w.usage != nil}
	now := w.now()
	var total map[string]APIUsage
	windows := map[string]map[string]APIUsage{} // per → API → calls in the current window
	if w.usage != nil {
		total, err = w.usageByAPI(ctx, me, app.ID, now.Add(-span), now)
		if err != nil {
			return err
		}
	}
	for _, s := range subs {
		t := byName[s.Tier]
		row := usageRow{Sub: s, Limit: limitText(t)}
		if w.usage != nil {
			u := total[s.APIID]
			row.Requests, row.Errors = u.Requests, u.Errors
			if u.Requests > 0 {
				row.ErrorRate = strconv.FormatFloat(float64(u.Errors)*100/float64(u.Requests), 'f', 1, 64) + "%"
			}
			if !t.Unlimited() {
				if start, ok := windowStart(now, t.Per); ok {
					if windows[t.Per] == nil {
						if windows[t.Per], err = w.usageByAPI(ctx, me, app.ID, start, now); err != nil {
							return err
						}
					}
					left := t.Requests - windows[t.Per][s.APIID].Requests
					row.Remaining = strconv.FormatInt(max(left, 0), 10) + " of " + strconv.FormatInt(t.Requests, 10)
					row.Window = "this " + t.Per
				}
			}
		}
		delete(total, s.APIID)
		v.Rows = append(v.Rows, row)
	}
	for _, u := range total {
		if u.Requests > 0 {
			v.Other = append(v.Other, u)
		}
	}
	return w.r.Page(c.Response(), http.StatusOK, pageUsage, v)
}

func (w *Web) usageByAPI(ctx context.Context, me account.Principal, appID string, from, to time.Time) (map[string]APIUsage, error) {
	us, err := w.usage.ApplicationUsage(ctx, me, appID, from, to)
	if err != nil {
		return nil, err
	}
	out := make(map[string]APIUsage, len(us))
	for _, u := range us {
		out[u.APIID] = u
	}
	return out, nil
}
