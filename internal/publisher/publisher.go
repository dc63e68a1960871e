// Package publisher serves the publisher UI at /publisher, where API owners design,
// import, version and publish their organisation's APIs. The catalog issue fills it;
// today it is the signed-in landing page for publishers and admins.
//
// publisher imports account and platform (and catalog once it exists).
package publisher

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/render"
)

const pageHome = "publisher/home"

// Web serves the publisher pages.
type Web struct {
	web *account.Web
	r   *render.Renderer
}

// NewWeb returns the publisher pages.
func NewWeb(web *account.Web, r *render.Renderer) *Web { return &Web{web: web, r: r} }

// Register adds the publisher routes to the /publisher group; only publishers and
// admins get in.
func (w *Web) Register(g *echo.Group) {
	g.Use(w.web.RequireRole(account.RoleAdmin, account.RolePublisher))
	g.GET("", w.home)
	g.GET("/", w.home)
}

type homeView struct{ render.Base }

func (w *Web) home(c echo.Context) error {
	base, err := w.web.Base(c, "publisher", "Publisher", nil)
	if err != nil {
		return err
	}
	return w.r.Page(c.Response(), http.StatusOK, pageHome, homeView{Base: base})
}
