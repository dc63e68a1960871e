package heroku

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
)

// Limits of what the partner API and SSO read.
const (
	maxPartnerBody = 64 << 10
	maxSSOBody     = 64 << 10
	maxNavData     = 4 << 10
	// NavCookie is the legacy Heroku navigation cookie SSO sets.
	NavCookie = "heroku-nav-data"
	// Landing is where SSO sends the user.
	Landing = "/publisher"
)

// Handlers serves /heroku/resources and /heroku/sso.
type Handlers struct {
	svc *Service
	web *account.Web
}

// NewHandlers returns the add-on's HTTP handlers; web starts sessions.
func NewHandlers(svc *Service, web *account.Web) *Handlers { return &Handlers{svc: svc, web: web} }

// Register adds the partner API and SSO to e. With the add-on's variables
// unset nothing is added, so every /heroku path answers 404 (CONTRACT §2).
// Neither route takes CSRF tokens or sessions: Heroku authenticates the
// partner API with Basic auth and SSO with its salted token.
func (h *Handlers) Register(e *echo.Echo) {
	if !h.svc.Enabled() {
		return
	}
	g := e.Group("/heroku")
	auth := h.basicAuth
	g.POST("/resources", h.provision, auth)
	g.PUT("/resources/:id", h.changePlan, auth)
	g.DELETE("/resources/:id", h.deprovision, auth)
	g.POST("/sso", h.sso)
	g.GET("/sso", h.sso)
	// Legacy "GET SSO" (a manifest without sso_url): the token in the query.
	g.GET("/resources/:id", h.sso)
}

// message writes Heroku's error shape.
func message(c echo.Context, status int, msg string) error {
	return c.JSON(status, map[string]string{"message": msg})
}

// answer writes a partner-API result: a success, a refusal, or (for anything
// unexpected, logged) a 503 Heroku may retry.
func (h *Handlers) answer(c echo.Context, a Answer, err error) error {
	var r *Refusal
	switch {
	case errors.As(err, &r):
		return message(c, r.Status, r.Message)
	case err != nil:
		h.svc.log.ErrorContext(c.Request().Context(), "heroku: partner API call failed", "path", c.Request().URL.Path, "err", err)
		return message(c, http.StatusServiceUnavailable, "Portico could not complete this just now; try again later.")
	case a.Body == nil:
		return c.NoContent(a.Status)
	}
	return c.JSON(a.Status, a.Body)
}

// basicAuth checks HEROKU_ADDON_ID / HEROKU_ADDON_PASSWORD in constant time
// (both compared every time, so timing tells nothing about which was wrong).
func (h *Handlers) basicAuth(next echo.HandlerFunc) echo.HandlerFunc {
	id, pw := []byte(h.svc.cfg.AddonID), []byte(h.svc.cfg.AddonPassword.Reveal())
	return func(c echo.Context) error {
		user, pass, ok := c.Request().BasicAuth()
		idOK := subtle.ConstantTimeCompare([]byte(user), id)
		pwOK := subtle.ConstantTimeCompare([]byte(pass), pw)
		if !ok || idOK&pwOK != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Basic realm="heroku"`)
			return message(c, http.StatusUnauthorized, "unauthorized")
		}
		return next(c)
	}
}

// decode reads a JSON body of at most maxPartnerBody bytes. An empty body is
// refused; unknown fields are not.
func decode(c echo.Context, v any) *Refusal {
	r := c.Request()
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxPartnerBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refuse(http.StatusRequestEntityTooLarge, "The request body is larger than %d bytes.", maxPartnerBody)
	}
	if err != nil {
		return refuse(http.StatusBadRequest, "The request body could not be read.")
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return refuse(http.StatusBadRequest, "The request has no JSON body.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return refuse(http.StatusBadRequest, "The request body is not the JSON Portico expects.")
	}
	return nil
}

func (h *Handlers) provision(c echo.Context) error {
	var in ProvisionRequest
	if r := decode(c, &in); r != nil {
		return message(c, r.Status, r.Message)
	}
	a, err := h.svc.Provision(c.Request().Context(), in)
	return h.answer(c, a, err)
}

func (h *Handlers) changePlan(c echo.Context) error {
	var in struct {
		Plan string `json:"plan"`
	}
	if r := decode(c, &in); r != nil {
		return message(c, r.Status, r.Message)
	}
	a, err := h.svc.ChangePlan(c.Request().Context(), c.Param("id"), in.Plan)
	return h.answer(c, a, err)
}

func (h *Handlers) deprovision(c echo.Context) error {
	a, err := h.svc.Deprovision(c.Request().Context(), c.Param("id"))
	return h.answer(c, a, err)
}

// sso signs the Heroku user in and sends them to the publisher. Refusals are
// 403 pages (JSON for non-browsers), through the common error handler.
func (h *Handlers) sso(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxSSOBody)
	if err := r.ParseForm(); err != nil {
		return ssoError(http.StatusBadRequest, "The sign-in form could not be read.")
	}
	in := SSORequest{
		ResourceID: r.Form.Get("resource_id"), ResourceToken: r.Form.Get("resource_token"),
		UserScopedToken: r.Form.Get("user_scoped_resource_token"),
		ID:              r.Form.Get("id"), Token: r.Form.Get("token"), Timestamp: r.Form.Get("timestamp"),
		UserID: r.Form.Get("user_id"), Email: r.Form.Get("email"), App: r.Form.Get("app"), NavData: r.Form.Get("nav-data"),
	}
	if in.ID == "" && c.Param("id") != "" {
		in.ID = c.Param("id")
	}
	u, err := h.svc.SignIn(r.Context(), in)
	var ref *Refusal
	if errors.As(err, &ref) {
		return ssoError(ref.Status, ref.Message)
	}
	if err != nil {
		return err
	}
	if err := h.web.StartSession(c, u); err != nil {
		return err
	}
	if nav := in.NavData; nav != "" && len(nav) <= maxNavData && cookieSafe(nav) {
		// Read by Heroku's navigation script, so not HttpOnly.
		c.SetCookie(&http.Cookie{Name: NavCookie, Value: nav, Path: "/", Secure: httpx.IsHTTPS(r), SameSite: http.SameSiteLaxMode})
	}
	return c.Redirect(http.StatusFound, landing(r.Form.Get("next")))
}

// landing keeps the post-SSO redirect inside the publisher: a path under
// /publisher, never a scheme, host or protocol-relative URL.
func landing(next string) string {
	if next == Landing || (strings.HasPrefix(next, Landing+"/") && !strings.ContainsAny(next, "\\\r\n\t\x00") && !strings.Contains(next, "/..") && !strings.Contains(next, "//")) {
		return next
	}
	return Landing
}

// cookieSafe reports whether v may be a cookie value as is (nav-data is
// base64url JSON).
func cookieSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		b := v[i]
		if b <= ' ' || b >= 0x7f || b == '"' || b == ',' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

func ssoError(status int, msg string) error {
	if status == http.StatusBadRequest {
		return apperr.Invalid("", "sso_malformed", msg)
	}
	return apperr.Forbidden("sso_denied", msg)
}
