package account

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
)

// SessionCookie holds the browser session id.
const SessionCookie = "portico_session"

// Page names.
const (
	pageLogin  = "account/login"
	pageSignup = "account/signup"
)

// Web serves the log-in, sign-up and log-out pages and the session middleware
// every HTML area uses.
type Web struct {
	svc *Service
	r   *render.Renderer
}

// NewWeb returns the account pages.
func NewWeb(svc *Service, r *render.Renderer) *Web { return &Web{svc: svc, r: r} }

// Register adds /portal/login, /portal/signup and /portal/logout to the /portal group.
func (w *Web) Register(g *echo.Group) {
	g.GET("/login", w.loginForm)
	g.POST("/login", w.login)
	g.POST("/logout", w.logout)
	g.GET("/signup", w.signupForm)
	g.POST("/signup", w.signup)
}

// LoadSession puts the signed-in user's Principal in the context when the request
// carries a live session cookie; anonymous requests pass through unchanged.
func (w *Web) LoadSession() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
				p, err := w.svc.Session(c.Request().Context(), ck.Value)
				switch {
				case err == nil:
					c.SetRequest(c.Request().WithContext(WithPrincipal(c.Request().Context(), p)))
				case apperr.IsKind(err, apperr.KindUnauthenticated):
					clearCookie(c, SessionCookie)
				default:
					return err
				}
			}
			return next(c)
		}
	}
}

// RequireRole sends anonymous visitors to the log-in page (coming back afterwards)
// and refuses signed-in users without one of roles.
func (w *Web) RequireRole(roles ...Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := PrincipalFrom(c.Request().Context())
			if !ok {
				return c.Redirect(http.StatusSeeOther, "/portal/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
			}
			if err := p.Require(roles...); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// Base builds the layout's view model for area. org, when given, is the
// organisation the page is about; otherwise the signed-in user's.
func (w *Web) Base(c echo.Context, area, title string, org *Organization) (render.Base, error) {
	b := render.Base{Title: title, Area: area, CSRFToken: httpx.CSRFToken(c)}
	p, signedIn := PrincipalFrom(c.Request().Context())
	if signedIn {
		b.User = &render.User{Email: p.Email, Role: string(p.Role)}
	}
	if org == nil && signedIn {
		o, err := w.svc.Org(c.Request().Context(), p.OrgID)
		if err != nil {
			return b, err
		}
		org = &o
	}
	if org != nil {
		b.OrgName, b.OrgSlug = org.Name, org.Slug
		b.LogoURL, b.BrandColor, b.BrandInk = org.LogoURL, org.BrandColor, org.BrandInk()
	}
	return b, nil
}

type loginView struct {
	render.Base
	Email, Password render.Field
	FormError       string
	Next            string
}

func (w *Web) renderLogin(c echo.Context, status int, v loginView) error {
	base, err := w.Base(c, "portal", "Log in", nil)
	if err != nil {
		return err
	}
	v.Base = base
	if v.Email.Name == "" {
		v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "username", Required: true}
	}
	v.Password = render.Field{Name: "password", Label: "Password", Type: "password", Auto: "current-password", Required: true, Error: v.Password.Error}
	return w.r.Page(c.Response(), status, pageLogin, v)
}

func (w *Web) loginForm(c echo.Context) error {
	return w.renderLogin(c, http.StatusOK, loginView{Next: safeNext(c.QueryParam("next"))})
}

func (w *Web) login(c echo.Context) error {
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	v := loginView{Next: safeNext(c.FormValue("next"))}
	v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "username", Required: true, Value: email}
	if email == "" {
		v.Email.Error = "Enter your e-mail address."
	}
	if password == "" {
		v.Password.Error = "Enter your password."
	}
	if v.Email.Error != "" || v.Password.Error != "" {
		return w.renderLogin(c, http.StatusBadRequest, v)
	}
	ctx := c.Request().Context()
	u, err := w.svc.Authenticate(ctx, email, password)
	if errors.Is(err, ErrInvalidCredentials) {
		v.FormError = ErrInvalidCredentials.Message
		return w.renderLogin(c, http.StatusUnauthorized, v)
	}
	if err != nil {
		return err
	}
	if err := w.startSession(c, u); err != nil {
		return err
	}
	next := v.Next
	if next == "" {
		next = w.home(c, u)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// StartSession signs u in on this browser: a new session cookie (Secure over
// HTTPS, HttpOnly, SameSite=Lax), replacing any session the browser had. Other
// modules' sign-in flows (Heroku single sign-on) use it.
func (w *Web) StartSession(c echo.Context, u User) error { return w.startSession(c, u) }

func (w *Web) startSession(c echo.Context, u User) error {
	// A new id at every log-in: a session fixed before log-in is worthless after it.
	if ck, err := c.Cookie(SessionCookie); err == nil {
		_ = w.svc.EndSession(c.Request().Context(), ck.Value)
	}
	tok, err := w.svc.StartSession(c.Request().Context(), u, c.Request().UserAgent(), c.RealIP())
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: httpx.IsHTTPS(c.Request()),
		SameSite: http.SameSiteLaxMode, MaxAge: int(SessionTTL.Seconds()),
	})
	return nil
}

// home is where a user lands after logging in: their most powerful area.
func (w *Web) home(c echo.Context, u User) string {
	switch u.Role {
	case RoleAdmin:
		return "/admin"
	case RolePublisher:
		return "/publisher"
	}
	if o, err := w.svc.Org(c.Request().Context(), u.OrgID); err == nil {
		return "/portal/" + o.Slug
	}
	return "/portal"
}

func (w *Web) logout(c echo.Context) error {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		if err := w.svc.EndSession(c.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	clearCookie(c, SessionCookie)
	return c.Redirect(http.StatusSeeOther, "/")
}

type signupView struct {
	render.Base
	Email, Password render.Field
	FormError       string
	Org             string
	Disabled        bool
}

func (w *Web) renderSignup(c echo.Context, status int, v signupView) error {
	var org *Organization
	ctx := c.Request().Context()
	if v.Org != "" {
		o, err := w.svc.OrgBySlug(ctx, v.Org)
		if err != nil {
			return err
		}
		org = &o
	} else if o, err := w.svc.FirstOrg(ctx); err == nil {
		org = &o
	}
	base, err := w.Base(c, "portal", "Sign up", org)
	if err != nil {
		return err
	}
	v.Base = base
	v.Disabled = org != nil && !org.SelfSignup
	if v.Email.Name == "" {
		v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "email", Required: true}
	}
	v.Password = render.Field{Name: "password", Label: "Password (at least 8 characters)", Type: "password", Auto: "new-password", Required: true, Error: v.Password.Error}
	return w.r.Page(c.Response(), status, pageSignup, v)
}

func (w *Web) signupForm(c echo.Context) error {
	return w.renderSignup(c, http.StatusOK, signupView{Org: strings.ToLower(c.QueryParam("org"))})
}

func (w *Web) signup(c echo.Context) error {
	in := Signup{Email: strings.TrimSpace(c.FormValue("email")), Password: c.FormValue("password"), Org: strings.ToLower(c.FormValue("org"))}
	u, org, err := w.svc.SignUp(c.Request().Context(), in)
	if err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.KindInternal || ae.Field == "org" {
			return err
		}
		v := signupView{Org: in.Org}
		v.Email = render.Field{Name: "email", Label: "E-mail", Type: "email", Auto: "email", Required: true, Value: in.Email}
		switch ae.Field {
		case "email":
			v.Email.Error = ae.Message
		case "password":
			v.Password.Error = ae.Message
		default:
			v.FormError = ae.Message
		}
		return w.renderSignup(c, apperr.Status(ae.Kind), v)
	}
	if err := w.startSession(c, u); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/portal/"+org.Slug)
}

// safeNext keeps a post-login redirect on this site: a path, never a scheme,
// host or protocol-relative URL. Browsers drop tabs and newlines anywhere in a
// URL ("/\t/evil.example" becomes "//evil.example"), so no control character
// may appear.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return ""
	}
	return next
}

func clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: httpx.IsHTTPS(c.Request()), SameSite: http.SameSiteLaxMode})
}
