package account

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
)

// API serves the account part of /api/v1 and the authentication middleware every
// module's JSON routes use.
type API struct {
	svc  *Service
	csrf *httpx.CSRF
}

// NewAPI returns the JSON handlers.
func NewAPI(svc *Service, csrf *httpx.CSRF) *API { return &API{svc: svc, csrf: csrf} }

// Register adds the account routes to the /api/v1 group.
func (a *API) Register(g *echo.Group) {
	g.POST("/tokens", a.createToken)
	g.POST("/signup", a.signup)
	auth := a.Authenticate()
	g.GET("/me", a.me, auth)
	g.GET("/users", a.listUsers, auth)
	g.POST("/users", a.createUser, auth)
	g.GET("/users/:id", a.getUser, auth)
	g.PATCH("/users/:id", a.updateUser, auth)
	g.POST("/me/password", a.changePassword, auth)
	g.GET("/tokens", a.listTokens, auth)
	g.DELETE("/tokens/:id", a.revokeToken, auth)
}

// Authenticate is the middleware of every authenticated /api/v1 route: a Bearer
// personal access token, or the browser session cookie plus the CSRF header on
// unsafe methods. It puts the Principal in the request context.
func (a *API) Authenticate() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			var p Principal
			var err error
			if h := req.Header.Get("Authorization"); h != "" {
				scheme, tok, _ := strings.Cut(h, " ")
				if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
					err = apperr.Unauthenticated("invalid_token", "Send the token as: Authorization: Bearer <token>.")
				} else {
					p, err = a.svc.TokenPrincipal(req.Context(), strings.TrimSpace(tok))
				}
			} else if ck, cerr := c.Cookie(SessionCookie); cerr == nil && ck.Value != "" {
				p, err = a.svc.Session(req.Context(), ck.Value)
				if err == nil && req.Method != http.MethodGet && req.Method != http.MethodHead {
					err = a.csrf.Check(c)
				}
			} else {
				err = ErrUnauthenticated
			}
			if err != nil {
				if apperr.IsKind(err, apperr.KindUnauthenticated) {
					c.Response().Header().Set("WWW-Authenticate", `Bearer realm="portico"`)
				}
				return err
			}
			c.SetRequest(req.WithContext(WithPrincipal(req.Context(), p)))
			return next(c)
		}
	}
}

// Caller returns the principal Authenticate put in the request.
func Caller(c echo.Context) Principal {
	p, _ := PrincipalFrom(c.Request().Context())
	return p
}

// UserJSON is a user as the API shows it.
type UserJSON struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"org_id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        Role       `json:"role"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

func userJSON(u User) UserJSON {
	return UserJSON{ID: u.ID, OrgID: u.OrgID, Email: u.Email, Name: u.Name, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt}
}

type tokenRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (a *API) createToken(c echo.Context) error {
	var in tokenRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Email) == "" || in.Password == "" {
		return apperr.Invalid("email", "missing_credentials", "Send both email and password.")
	}
	tok, err := a.svc.IssueToken(c.Request().Context(), in.Email, in.Password, in.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tok)
}

func (a *API) signup(c echo.Context) error {
	var in Signup
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	u, _, err := a.svc.SignUp(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userJSON(u))
}

func (a *API) me(c echo.Context) error {
	p := Caller(c)
	u, err := a.svc.User(c.Request().Context(), p, p.UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userJSON(u))
}

func (a *API) createUser(c echo.Context) error {
	var in NewUser
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	u, err := a.svc.CreateUser(c.Request().Context(), Caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userJSON(u))
}

func (a *API) getUser(c echo.Context) error {
	u, err := a.svc.User(c.Request().Context(), Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userJSON(u))
}

func (a *API) listUsers(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	us, err := a.svc.ListUsers(c.Request().Context(), Caller(c), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	items := make([]UserJSON, len(us))
	for i, u := range us {
		items[i] = userJSON(u)
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(u UserJSON) string { return u.ID }))
}

func (a *API) updateUser(c echo.Context) error {
	var in UserChange
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	u, err := a.svc.UpdateUser(c.Request().Context(), Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userJSON(u))
}

// changePassword answers 204; the caller's sessions and tokens have ended,
// this one included, so the next call needs a new token.
func (a *API) changePassword(c echo.Context) error {
	var in PasswordChange
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	if _, err := a.svc.ChangePassword(c.Request().Context(), Caller(c), in); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// TokenJSON describes a personal access token without its secret.
type TokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
}

func (a *API) listTokens(c echo.Context) error {
	ts, err := a.svc.Tokens(c.Request().Context(), Caller(c))
	if err != nil {
		return err
	}
	items := make([]TokenJSON, len(ts))
	for i, t := range ts {
		items[i] = TokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt}
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items, "next_cursor": ""})
}

func (a *API) revokeToken(c echo.Context) error {
	if err := a.svc.RevokeToken(c.Request().Context(), Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
