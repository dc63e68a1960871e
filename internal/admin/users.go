package admin

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

const pageUser = "admin/user"

// userView is one user's page: their role, whether they may sign in, a new
// password, and what happened to them.
type userView struct {
	render.Base
	User      account.User
	Roles     []account.Role
	Self      bool
	Password  render.Field
	FormError string
	History   []account.AuditEvent
}

func (w *Web) user(c echo.Context) error {
	flash := ""
	switch c.QueryParam("done") {
	case "role":
		flash = "Role changed."
	case "disabled":
		flash = "User disabled: their sessions and tokens have ended."
	case "enabled":
		flash = "User enabled."
	case "password":
		flash = "Password set: their sessions and tokens have ended."
	}
	return w.renderUser(c, http.StatusOK, userView{}, flash)
}

func (w *Web) renderUser(c echo.Context, status int, v userView, flash string) error {
	ctx := c.Request().Context()
	me := account.Caller(c)
	u, err := w.accounts.User(ctx, me, c.Param("id"))
	if err != nil {
		return err
	}
	hist, err := w.accounts.History(ctx, me, "user", u.ID, 20)
	if err != nil {
		return err
	}
	base, err := w.web.Base(c, "admin", u.Email, nil)
	if err != nil {
		return err
	}
	base.Flash = flash
	v.Base, v.User, v.Roles, v.Self, v.History = base, u, account.Roles, u.ID == me.UserID, hist
	v.Password = render.Field{Name: "password", Label: "New password", Type: "password", Auto: "new-password", Required: true, Error: v.Password.Error}
	return w.r.Page(c.Response(), status, pageUser, v)
}

// updateUser applies one of the user page's forms: what=role, disable,
// enable or password.
func (w *Web) updateUser(c echo.Context) error {
	var in account.UserChange
	done := c.FormValue("what")
	switch done {
	case "role":
		r := account.Role(c.FormValue("role"))
		in.Role = &r
	case "disable", "enable":
		d := done == "disable"
		in.Disabled = &d
		done += "d"
	case "password":
		pw := c.FormValue("password")
		in.Password = &pw
	default:
		return apperr.Invalid("what", "invalid_change", "Choose what to change: role, disable, enable or password.")
	}
	id := c.Param("id")
	if _, err := w.accounts.UpdateUser(c.Request().Context(), account.Caller(c), id, in); err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindNotFound || ae.Kind == apperr.KindForbidden {
			return err
		}
		var v userView
		if ae.Field == "password" {
			v.Password.Error = ae.Message
		} else {
			v.FormError = ae.Message
		}
		return w.renderUser(c, apperr.Status(ae.Kind), v, "")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users/"+url.PathEscape(id)+"?done="+done)
}
