package account

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

const (
	pageAccount = "account/account"
	pageForgot  = "account/forgot"
	pageReset   = "account/reset"
)

// RegisterAccount adds the signed-in user's own account page (GET/POST
// /portal/account: their e-mail, role, and a change of password) to the
// /portal group.
func (w *Web) RegisterAccount(g *echo.Group) {
	signedIn := w.RequireRole(RoleAdmin, RolePublisher, RoleDeveloper)
	g.GET("/account", w.account, signedIn)
	g.POST("/account/password", w.changePassword, signedIn)
	g.POST("/account/tokens", w.createToken, signedIn)
	g.POST("/account/tokens/:id/revoke", w.revokeToken, signedIn)
	g.GET("/forgot", w.forgotForm)
	g.POST("/forgot", w.forgot)
	g.GET("/reset", w.resetForm)
	g.POST("/reset", w.reset)
}

type accountView struct {
	render.Base
	User             User
	Current, New     render.Field
	Confirm          render.Field
	FormError        string
	PasswordsChanged bool
	Tokens           []APIToken
	TokenName        render.Field
	NewToken         *IssuedToken // shown once, right after it is made
}

func (w *Web) account(c echo.Context) error {
	v := accountView{PasswordsChanged: c.QueryParam("changed") == "1"}
	return w.renderAccount(c, http.StatusOK, v)
}

func (w *Web) renderAccount(c echo.Context, status int, v accountView) error {
	p := Caller(c)
	u, err := w.svc.User(c.Request().Context(), p, p.UserID)
	if err != nil {
		return err
	}
	base, err := w.Base(c, "account", "Your account", nil)
	if err != nil {
		return err
	}
	if v.PasswordsChanged {
		base.Flash = "Password changed. Your other sessions and personal access tokens have ended."
	}
	if c.QueryParam("revoked") == "1" {
		base.Flash = "Token revoked."
	}
	if v.Tokens, err = w.svc.Tokens(c.Request().Context(), p); err != nil {
		return err
	}
	v.TokenName = render.Field{Name: "token_name", Label: "Token name (optional)", Type: "text", Auto: "off"}
	v.Base, v.User = base, u
	v.Current = render.Field{Name: "current_password", Label: "Current password", Type: "password", Auto: "current-password", Required: true, Error: v.Current.Error}
	v.New = render.Field{Name: "new_password", Label: "New password", Type: "password", Auto: "new-password", Required: true, Error: v.New.Error}
	v.Confirm = render.Field{Name: "confirm_password", Label: "New password, again", Type: "password", Auto: "new-password", Required: true, Error: v.Confirm.Error}
	return w.r.Page(c.Response(), status, pageAccount, v)
}

func (w *Web) changePassword(c echo.Context) error {
	in := PasswordChange{CurrentPassword: c.FormValue("current_password"), NewPassword: c.FormValue("new_password")}
	var v accountView
	if c.FormValue("confirm_password") != in.NewPassword {
		v.Confirm.Error = "The two new passwords differ."
		return w.renderAccount(c, http.StatusBadRequest, v)
	}
	u, err := w.svc.ChangePassword(c.Request().Context(), Caller(c), in)
	if err != nil {
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind == apperr.KindInternal {
			return err
		}
		switch ae.Field {
		case "current_password":
			v.Current.Error = ae.Message
		case "new_password":
			v.New.Error = ae.Message
		default:
			v.FormError = ae.Message
		}
		return w.renderAccount(c, apperr.Status(ae.Kind), v)
	}
	// Every session ended with the change, this browser's too: it signs in anew.
	if err := w.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/portal/account?changed=1")
}

// createToken makes a personal access token and shows it on the page, once.
func (w *Web) createToken(c echo.Context) error {
	t, err := w.svc.IssueTokenFor(c.Request().Context(), Caller(c), c.FormValue("token_name"))
	if err != nil {
		return err
	}
	return w.renderAccount(c, http.StatusOK, accountView{NewToken: &t})
}

func (w *Web) revokeToken(c echo.Context) error {
	if err := w.svc.RevokeToken(c.Request().Context(), Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/portal/account?revoked=1")
}

type forgotView struct {
	render.Base
	Email     render.Field
	CanMail   bool
	Sent      bool
	FormError string
}

func (w *Web) renderForgot(c echo.Context, status int, v forgotView) error {
	base, err := w.Base(c, "portal", "Forgot your password", nil)
	if err != nil {
		return err
	}
	v.Base, v.CanMail = base, w.svc.CanResetByMail()
	if v.Email.Name == "" {
		v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "username", Required: true}
	}
	return w.r.Page(c.Response(), status, pageForgot, v)
}

func (w *Web) forgotForm(c echo.Context) error { return w.renderForgot(c, http.StatusOK, forgotView{}) }

func (w *Web) forgot(c echo.Context) error {
	email := c.FormValue("email")
	v := forgotView{Email: render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "username", Required: true, Value: email}}
	if err := w.svc.RequestPasswordReset(c.Request().Context(), email); err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.KindInternal {
			return err
		}
		if ae.Field == "email" {
			v.Email.Error = ae.Message
		} else {
			v.FormError = ae.Message
		}
		return w.renderForgot(c, apperr.Status(ae.Kind), v)
	}
	v.Sent = true
	return w.renderForgot(c, http.StatusOK, v)
}

type resetView struct {
	render.Base
	Token             string
	Password, Confirm render.Field
	FormError         string
	Invalid           bool
}

func (w *Web) renderReset(c echo.Context, status int, v resetView) error {
	base, err := w.Base(c, "portal", "Choose a new password", nil)
	if err != nil {
		return err
	}
	v.Base = base
	v.Password = render.Field{Name: "password", Label: "New password", Type: "password", Auto: "new-password", Required: true, Error: v.Password.Error}
	v.Confirm = render.Field{Name: "confirm_password", Label: "New password, again", Type: "password", Auto: "new-password", Required: true, Error: v.Confirm.Error}
	return w.r.Page(c.Response(), status, pageReset, v)
}

func (w *Web) resetForm(c echo.Context) error {
	v := resetView{Token: c.QueryParam("token")}
	if err := w.svc.CheckResetToken(c.Request().Context(), v.Token); err != nil {
		if !errors.Is(err, ErrResetInvalid) {
			return err
		}
		v.Invalid = true
		return w.renderReset(c, http.StatusBadRequest, v)
	}
	return w.renderReset(c, http.StatusOK, v)
}

func (w *Web) reset(c echo.Context) error {
	v := resetView{Token: c.FormValue("token")}
	pw := c.FormValue("password")
	if c.FormValue("confirm_password") != pw {
		v.Confirm.Error = "The two passwords differ."
		return w.renderReset(c, http.StatusBadRequest, v)
	}
	u, err := w.svc.ResetPassword(c.Request().Context(), v.Token, pw)
	if err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.KindInternal {
			return err
		}
		switch {
		case errors.Is(err, ErrResetInvalid):
			v.Invalid = true
		case ae.Field == "password":
			v.Password.Error = ae.Message
		default:
			v.FormError = ae.Message
		}
		return w.renderReset(c, apperr.Status(ae.Kind), v)
	}
	if err := w.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, w.home(c, u))
}
