package httpx

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
)

// CSRF names.
const (
	CSRFCookie    = "portico_csrf"
	CSRFFormField = "csrf_token"
	CSRFHeader    = "X-CSRF-Token"
	csrfCtxKey    = "csrf_token"
)

// CSRF implements signed double-submit tokens: a random value in an HttpOnly
// cookie, and forms carry HMAC(key, value). A cross-site page can neither read the
// cookie nor forge the MAC, and no server-side state is needed.
type CSRF struct {
	key []byte
}

// NewCSRF returns a CSRF guard keyed by key (derived from PORTICO_SECRET).
func NewCSRF(key []byte) *CSRF { return &CSRF{key: key} }

// Middleware ensures the cookie exists, exposes the token to templates
// (CSRFToken), and refuses unsafe methods whose token is missing or wrong.
func (g *CSRF) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			seed := g.seed(c)
			c.Set(csrfCtxKey, g.token(seed))
			if !safeMethod(c.Request().Method) {
				if err := g.check(c, seed); err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}

// Check verifies the token of a request that carries one (for JSON API calls made
// with a session cookie, which send it in the X-CSRF-Token header).
func (g *CSRF) Check(c echo.Context) error {
	ck, err := c.Cookie(CSRFCookie)
	if err != nil || ck.Value == "" {
		return errCSRF
	}
	return g.check(c, ck.Value)
}

var errCSRF = apperr.Forbidden("csrf_failed", "This form has expired or did not come from Portico; reload the page and try again.")

func (g *CSRF) check(c echo.Context, seed string) error {
	sent := c.Request().Header.Get(CSRFHeader)
	if sent == "" {
		sent = c.FormValue(CSRFFormField)
	}
	if sent == "" || !hmac.Equal([]byte(sent), []byte(g.token(seed))) {
		return errCSRF
	}
	return nil
}

func (g *CSRF) seed(c echo.Context) string {
	if ck, err := c.Cookie(CSRFCookie); err == nil && len(ck.Value) >= 22 && len(ck.Value) <= 64 {
		return ck.Value
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	c.SetCookie(&http.Cookie{
		Name: CSRFCookie, Value: v, Path: "/", HttpOnly: true,
		Secure: IsHTTPS(c.Request()), SameSite: http.SameSiteLaxMode,
	})
	// Later reads in this request (a form rendered after a redirect) see it too.
	c.Request().AddCookie(&http.Cookie{Name: CSRFCookie, Value: v})
	return v
}

func (g *CSRF) token(seed string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(seed))
	return hex.EncodeToString(m.Sum(nil))
}

// CSRFToken returns the token forms of this request must carry.
func CSRFToken(c echo.Context) string {
	t, _ := c.Get(csrfCtxKey).(string)
	return t
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// IsHTTPS reports whether the client reached us over HTTPS, directly or through a
// TLS-terminating router that says so (Heroku sets X-Forwarded-Proto).
func IsHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}
