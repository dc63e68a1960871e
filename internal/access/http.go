package access

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/httpx"
)

// API serves the access part of /api/v1.
type API struct {
	svc *Service
}

// NewAPI returns the JSON handlers.
func NewAPI(svc *Service) *API { return &API{svc: svc} }

// Register adds the application routes to the /api/v1 group; auth is the
// authentication middleware every route needs.
func (a *API) Register(g *echo.Group, auth echo.MiddlewareFunc) {
	g.POST("/applications", a.create, auth)
	g.GET("/applications", a.list, auth)
	g.GET("/applications/:id", a.get, auth)
	g.PATCH("/applications/:id", a.update, auth)
	g.DELETE("/applications/:id", a.delete, auth)
	g.POST("/applications/:id/secret", a.rotateSecret, auth)
	g.POST("/applications/:id/keys", a.createKey, auth)
	g.GET("/applications/:id/keys", a.listKeys, auth)
	g.DELETE("/applications/:id/keys/:key_id", a.revokeKey, auth)
	g.POST("/subscriptions", a.subscribe, auth)
	g.GET("/subscriptions", a.listSubscriptions, auth)
	g.GET("/subscriptions/:id", a.getSubscription, auth)
	g.DELETE("/subscriptions/:id", a.unsubscribe, auth)
	for _, action := range []string{"approve", "reject", "block", "unblock"} {
		g.POST("/subscriptions/:id/"+action, a.moderate(action), auth)
	}
}

// ApplicationJSON is an application as the API shows it (never its secret hash).
type ApplicationJSON struct {
	ID           string    `json:"id"`
	OrgID        string    `json:"org_id"`
	OwnerID      string    `json:"owner_id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	ClientID     string    `json:"client_id"`
	CallbackURLs []string  `json:"callback_urls"`
	Public       bool      `json:"public"`
	GrantTypes   []string  `json:"grant_types"`
	Scopes       []string  `json:"scopes"`
	Tier         string    `json:"tier"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func applicationJSON(a Application) ApplicationJSON {
	nonNil := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	return ApplicationJSON{ID: a.ID, OrgID: a.OrgID, OwnerID: a.OwnerID, Name: a.Name, Description: a.Description,
		ClientID: a.ClientID, CallbackURLs: nonNil(a.CallbackURLs), Public: a.Public, GrantTypes: nonNil(a.GrantTypes),
		Scopes: nonNil(a.AllowedScopes), Tier: a.Tier, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

// createdJSON is the answer to a create or a secret rotation: the secret once.
type createdJSON struct {
	ApplicationJSON
	ClientSecret string `json:"client_secret,omitempty"`
}

func (a *API) create(c echo.Context) error {
	var in NewApplication
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	app, secret, err := a.svc.Create(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, createdJSON{ApplicationJSON: applicationJSON(app), ClientSecret: secret})
}

func (a *API) get(c echo.Context) error {
	app, err := a.svc.Get(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, applicationJSON(app))
}

func (a *API) list(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	apps, err := a.svc.List(c.Request().Context(), account.Caller(c), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	items := make([]ApplicationJSON, len(apps))
	for i, app := range apps {
		items[i] = applicationJSON(app)
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(x ApplicationJSON) string { return x.ID }))
}

func (a *API) update(c echo.Context) error {
	var in ApplicationChange
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	app, err := a.svc.Update(c.Request().Context(), account.Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, applicationJSON(app))
}

func (a *API) delete(c echo.Context) error {
	if err := a.svc.Delete(c.Request().Context(), account.Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) rotateSecret(c echo.Context) error {
	app, secret, err := a.svc.RotateSecret(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, createdJSON{ApplicationJSON: applicationJSON(app), ClientSecret: secret})
}
