// Package portal serves the developer portal: each organisation's home at
// /portal/{org_slug}, with `/` and `/portal` showing the first organisation's.
// The catalogue, API pages, applications and keys arrive with the portal issue;
// today it shows the organisation and the way in (sign up, log in).
//
// portal imports account and platform.
package portal

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

const pageHome = "portal/home"

// Web serves the portal pages.
type Web struct {
	accounts *account.Service
	web      *account.Web
	r        *render.Renderer
}

// NewWeb returns the portal pages.
func NewWeb(accounts *account.Service, web *account.Web, r *render.Renderer) *Web {
	return &Web{accounts: accounts, web: web, r: r}
}

// Register adds `/` (with the browser middleware mw) and the portal home pages to
// the /portal group. `/` is a single route, not a group, so unknown top-level paths
// are not swept into the browser middleware.
func (w *Web) Register(e *echo.Echo, mw []echo.MiddlewareFunc, g *echo.Group) {
	e.GET("/", w.first, mw...)
	g.GET("", w.first)
	g.GET("/", w.first)
	g.GET("/:org", w.home)
}

type homeView struct{ render.Base }

func (w *Web) first(c echo.Context) error {
	org, err := w.accounts.FirstOrg(c.Request().Context())
	if errors.Is(err, account.ErrOrgNotFound) {
		return apperr.Unavailable("not_set_up", "Portico has no organisation yet; it is made on first start.")
	}
	if err != nil {
		return err
	}
	return w.render(c, org)
}

func (w *Web) home(c echo.Context) error {
	org, err := w.accounts.OrgBySlug(c.Request().Context(), c.Param("org"))
	if err != nil {
		return err
	}
	return w.render(c, org)
}

func (w *Web) render(c echo.Context, org account.Organization) error {
	base, err := w.web.Base(c, "portal", org.Name, &org)
	if err != nil {
		return err
	}
	return w.r.Page(c.Response(), http.StatusOK, pageHome, homeView{Base: base})
}
