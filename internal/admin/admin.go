// Package admin serves the organisation administrator's UI at /admin: users and
// their roles, and the organisation's branding (name, logo, brand colour)
// applied to its portal; tiers and settings as their modules land.
//
// admin imports account and platform.
package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
)

const pageUsers = "admin/users"

// Web serves the admin pages.
type Web struct {
	accounts *account.Service
	web      *account.Web
	r        *render.Renderer
}

// NewWeb returns the admin pages.
func NewWeb(accounts *account.Service, web *account.Web, r *render.Renderer) *Web {
	return &Web{accounts: accounts, web: web, r: r}
}

// Register adds the admin routes to the /admin group; only admins get in.
func (w *Web) Register(g *echo.Group) {
	g.Use(w.web.RequireRole(account.RoleAdmin))
	g.GET("", w.users)
	g.GET("/", w.users)
	g.POST("/users", w.createUser)
	g.GET("/users/:id", w.user)
	g.POST("/users/:id", w.updateUser)
	g.GET("/branding", w.branding)
	g.POST("/branding", w.saveBranding)
}

type usersView struct {
	render.Base
	Users           []account.User
	NextCursor      string
	Email, Password render.Field
	Role            string
	RoleError       string
	Roles           []account.Role
	FormError       string
}

func (w *Web) users(c echo.Context) error {
	flash := ""
	if added := c.QueryParam("added"); added != "" {
		flash = "Added " + added + "."
	}
	return w.renderUsers(c, http.StatusOK, usersView{Role: string(account.RoleDeveloper)}, flash)
}

func (w *Web) renderUsers(c echo.Context, status int, v usersView, flash string) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	users, err := w.accounts.ListUsers(c.Request().Context(), account.Caller(c), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	list := httpx.NewList(page, users, func(u account.User) string { return u.ID })
	base, err := w.web.Base(c, "admin", "Users", nil)
	if err != nil {
		return err
	}
	base.Flash = flash
	v.Base, v.Users, v.NextCursor, v.Roles = base, list.Items, list.NextCursor, account.Roles
	if v.Email.Name == "" {
		v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "off", Required: true}
	}
	v.Password = render.Field{Name: "password", Label: "Initial password", Type: "password", Auto: "new-password", Required: true, Error: v.Password.Error}
	return w.r.Page(c.Response(), status, pageUsers, v)
}

func (w *Web) createUser(c echo.Context) error {
	in := account.NewUser{Email: strings.TrimSpace(c.FormValue("email")), Password: c.FormValue("password"), Role: account.Role(c.FormValue("role"))}
	u, err := w.accounts.CreateUser(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindForbidden {
			return err
		}
		v := usersView{Role: string(in.Role)}
		v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "off", Required: true, Value: in.Email}
		switch ae.Field {
		case "email":
			v.Email.Error = ae.Message
		case "password":
			v.Password.Error = ae.Message
		case "role":
			v.RoleError = ae.Message
		default:
			v.FormError = ae.Message
		}
		return w.renderUsers(c, apperr.Status(ae.Kind), v, "")
	}
	// Post/Redirect/Get: a reload does not submit the form again.
	return c.Redirect(http.StatusSeeOther, "/admin?added="+url.QueryEscape(u.Email+" as "+string(u.Role)))
}
