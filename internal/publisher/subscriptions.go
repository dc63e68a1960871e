package publisher

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
)

const pageSubscriptions = "publisher/subscriptions"

// Subscriptions serves the publisher's moderation page: pending subscriptions
// to approve or reject, active ones to block, blocked ones to unblock.
type Subscriptions struct {
	access *access.Service
	web    *account.Web
	r      *render.Renderer
}

// NewSubscriptions returns the moderation page.
func NewSubscriptions(acc *access.Service, web *account.Web, r *render.Renderer) *Subscriptions {
	return &Subscriptions{access: acc, web: web, r: r}
}

// Register adds /publisher/subscriptions to the /publisher group; publishers
// and admins only.
func (s *Subscriptions) Register(g *echo.Group) {
	role := s.web.RequireRole(account.RoleAdmin, account.RolePublisher)
	g.GET("/subscriptions", s.list, role)
	g.POST("/subscriptions/:id/:action", s.moderate, role)
}

// subscriptionTabs are the statuses the page lists, each with what it may do.
var subscriptionTabs = []struct {
	Status, Label string
	Actions       []moderation
}{
	{access.StatusPending, "Pending", []moderation{{"approve", "Approve"}, {"reject", "Reject"}}},
	{access.StatusActive, "Active", []moderation{{"block", "Block"}}},
	{access.StatusBlocked, "Blocked", []moderation{{"unblock", "Unblock"}}},
	{access.StatusRejected, "Rejected", nil},
	{access.StatusSuspended, "Suspended", nil},
}

// moderation is a button of the page: an action and its label.
type moderation struct{ Action, Label string }

type subscriptionsView struct {
	render.Base
	Status    string
	Tabs      []struct{ Status, Label string }
	Actions   []moderation
	Items     []access.SubscriptionDetail
	NextURL   string
	FormError string
}

func (s *Subscriptions) list(c echo.Context) error {
	return s.render(c, http.StatusOK, "")
}

func (s *Subscriptions) render(c echo.Context, status int, formError string) error {
	st := c.QueryParam("status")
	if st == "" {
		st = access.StatusPending
	}
	v := subscriptionsView{Status: st, FormError: formError}
	known := false
	for _, t := range subscriptionTabs {
		v.Tabs = append(v.Tabs, struct{ Status, Label string }{t.Status, t.Label})
		if t.Status == st {
			known, v.Actions = true, t.Actions
		}
	}
	if !known {
		return apperr.Invalid("status", "invalid_status", "status must be PENDING, ACTIVE, BLOCKED, REJECTED or SUSPENDED.")
	}
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	items, err := s.access.SubscriptionDetails(c.Request().Context(), account.Caller(c),
		access.SubscriptionQuery{Status: st, After: page.After, Limit: page.Limit + 1})
	if err != nil {
		return err
	}
	list := httpx.NewList(page, items, func(d access.SubscriptionDetail) string { return d.ID })
	v.Items = list.Items
	if list.NextCursor != "" {
		v.NextURL = "/publisher/subscriptions?" + url.Values{"status": {st}, "cursor": {list.NextCursor}}.Encode()
	}
	base, err := s.web.Base(c, "subscriptions", "Subscriptions", nil)
	if err != nil {
		return err
	}
	base.Flash = c.QueryParam("done")
	v.Base = base
	return s.r.Page(c.Response(), status, pageSubscriptions, v)
}

func (s *Subscriptions) moderate(c echo.Context) error {
	action := c.Param("action")
	sub, err := s.access.Moderate(c.Request().Context(), account.Caller(c), c.Param("id"), action)
	if err != nil {
		ae, ok := apperr.As(err)
		if ok && (ae.Kind == apperr.KindConflict || ae.Kind == apperr.KindInvalid) {
			return s.render(c, apperr.Status(ae.Kind), ae.Message)
		}
		return err
	}
	back := c.FormValue("status")
	if back == "" {
		back = access.StatusPending
	}
	return c.Redirect(http.StatusSeeOther, "/publisher/subscriptions?"+url.Values{"status": {back},
		"done": {"Subscription " + pastTense(action) + "; it is now " + sub.Status + "."}}.Encode())
}

func pastTense(action string) string {
	switch action {
	case "approve":
		return "approved"
	case "reject":
		return "rejected"
	case "block":
		return "blocked"
	}
	return "unblocked"
}
