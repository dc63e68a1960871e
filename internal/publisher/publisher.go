// Package publisher serves the publisher UI at /publisher, where API owners of an
// organisation design, import, version and publish its APIs, edit operations and
// documents, and manage tiers. Pages are server-rendered; the OpenAPI editor
// validates as you type with a little script from web/publisher.
//
// Subscription moderation (subscriptions.go) lists and moderates the
// organisation's subscriptions through the access module.
//
// publisher imports account, catalog, access and platform.
package publisher

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/render"
)

// Web serves the publisher landing page.
type Web struct {
	web *account.Web
	r   *render.Renderer
}

// NewWeb returns the publisher landing page.
func NewWeb(web *account.Web, r *render.Renderer) *Web { return &Web{web: web, r: r} }

// Register adds /publisher itself, which leads to the list of APIs; only
// publishers and admins get in.
func (w *Web) Register(g *echo.Group) {
	g.Use(w.web.RequireRole(account.RoleAdmin, account.RolePublisher))
	g.GET("", w.home)
	g.GET("/", w.home)
}

func (w *Web) home(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/publisher/apis")
}
