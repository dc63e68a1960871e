package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/oauth"
	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

// Page names.
const (
	pageCatalogue    = "portal/catalogue"
	pageAPI          = "portal/api"
	pageApplications = "portal/applications"
	pageApplication  = "portal/application"
	pageDelete       = "portal/delete"
	pageUsage        = "portal/usage"
)

// TokenIssuer runs the client credentials grant for an application's signed-in
// owner (the OAuth server implements it).
type TokenIssuer interface {
	IssueForOwner(ctx context.Context, actor account.Principal, app access.Application, scopes []string) (oauth.IssuedToken, error)
}

// APIUsage is one API's traffic from one application over a period.
type APIUsage struct {
	APIID    string
	Name     string
	Requests int64
	Errors   int64
}

// UsageReader reads an application's calls and errors per API (analytics
// implements it). Without one, the usage page shows limits only.
type UsageReader interface {
	ApplicationUsage(ctx context.Context, actor account.Principal, applicationID string, from, to time.Time) ([]APIUsage, error)
}

// Options are what the portal is built from. Usage may be nil.
type Options struct {
	Accounts *account.Service
	Web      *account.Web
	Renderer *render.Renderer
	Catalog  *catalog.Service
	Access   *access.Service
	Tokens   TokenIssuer
	Usage    UsageReader
	// Invoices lists Stripe invoices (nil: billing is not wired).
	Invoices InvoiceLister
	// Payments tells pending paid subscriptions' payment state (nil: no billing).
	Payments PaymentReader
}

// Web serves the portal pages.
type Web struct {
	accounts *account.Service
	web      *account.Web
	r        *render.Renderer
	catalog  *catalog.Service
	access   *access.Service
	tokens   TokenIssuer
	usage    UsageReader
	// invoiceLister lists the organisation's invoices (nil: no billing).
	invoiceLister InvoiceLister
	payments      PaymentReader
	md            *catalog.Markdown
	now           func() time.Time
}

// NewWeb returns the portal pages.
func NewWeb(o Options) *Web {
	return &Web{accounts: o.Accounts, web: o.Web, r: o.Renderer, catalog: o.Catalog, access: o.Access,
		tokens: o.Tokens, usage: o.Usage, invoiceLister: o.Invoices, payments: o.Payments, md: catalog.NewMarkdown(), now: func() time.Time { return time.Now().UTC() }}
}

// Register adds `/` (with the browser middleware mw) and the portal pages to the
// /portal group (which carries mw already). `/` is a single route, not a group,
// so unknown top-level paths are not swept into the browser middleware.
func (w *Web) Register(e *echo.Echo, mw []echo.MiddlewareFunc, g *echo.Group) {
	e.GET("/", w.first, mw...)
	g.GET("", w.first)
	g.GET("/", w.first)
	g.GET("/:org", w.orgCatalogue)
	g.GET("/:org/apis/:id", w.apiPage)

	in := w.web.RequireRole(account.Roles...)
	g.POST("/:org/apis/:id/subscribe", w.subscribe, in)
	g.GET("/:org/applications", w.applications, in)
	g.POST("/:org/applications", w.createApplication, in)
	g.GET("/:org/applications/:app", w.application, in)
	g.POST("/:org/applications/:app", w.updateApplication, in)
	g.GET("/:org/applications/:app/delete", w.confirmDelete, in)
	g.POST("/:org/applications/:app/delete", w.deleteApplication, in)
	g.POST("/:org/applications/:app/secret", w.rotateSecret, in)
	g.POST("/:org/applications/:app/keys", w.createKey, in)
	g.POST("/:org/applications/:app/keys/:key/revoke", w.revokeKey, in)
	g.POST("/:org/applications/:app/token", w.getToken, in)
	g.GET("/:org/applications/:app/usage", w.usagePage, in)
	g.GET("/:org/invoices", w.invoices, in)
	g.POST("/:org/subscriptions/:sub/delete", w.unsubscribe, in)
}

func ctxOf(c echo.Context) context.Context { return c.Request().Context() }

// first shows the first organisation's catalogue at `/` and `/portal`.
func (w *Web) first(c echo.Context) error {
	org, err := w.accounts.FirstOrg(ctxOf(c))
	if errors.Is(err, account.ErrOrgNotFound) {
		return apperr.Unavailable("not_set_up", "Portico has no organisation yet; it is made on first start.")
	}
	if err != nil {
		return err
	}
	return w.catalogue(c, org)
}

func (w *Web) orgCatalogue(c echo.Context) error {
	org, err := w.org(c)
	if err != nil {
		return err
	}
	return w.catalogue(c, org)
}

// org is the organisation named by the :org path segment.
func (w *Web) org(c echo.Context) (account.Organization, error) {
	slug := c.Param("org")
	if slug == "" || len(slug) > 40 {
		return account.Organization{}, account.ErrOrgNotFound
	}
	return w.accounts.OrgBySlug(ctxOf(c), strings.ToLower(slug))
}

// viewer is who reads the catalogue of org: a developer of that organisation.
// Signed-in members (whatever their role) see it as their developers do, with
// private APIs; everyone else sees public APIs only.
func viewer(c echo.Context, org account.Organization) (p account.Principal, member bool) {
	if me, ok := account.PrincipalFrom(ctxOf(c)); ok && me.OrgID == org.ID {
		return account.Principal{UserID: me.UserID, OrgID: org.ID, Email: me.Email, Role: account.RoleDeveloper, Via: me.Via}, true
	}
	return account.Principal{OrgID: org.ID, Role: account.RoleDeveloper}, false
}

// member returns the signed-in caller when they belong to org, else not found:
// nobody reaches another organisation's applications through its portal.
func member(c echo.Context, org account.Organization) (account.Principal, error) {
	me, ok := account.PrincipalFrom(ctxOf(c))
	if !ok || me.OrgID != org.ID {
		return account.Principal{}, apperr.NotFound("page")
	}
	return me, nil
}

func (w *Web) base(c echo.Context, area, title string, org account.Organization) (render.Base, error) {
	b, err := w.web.Base(c, area, title, &org)
	if err != nil {
		return b, err
	}
	b.Flash = c.QueryParam("done")
	if len(b.Flash) > 200 {
		b.Flash = ""
	}
	return b, nil
}

// redirect answers See Other to path with a flash message.
func redirect(c echo.Context, path, flash string) error {
	if flash != "" {
		path += "?done=" + url.QueryEscape(flash)
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// userError splits an error into what a form shows (field, message) and what is
// not the user's to fix (returned as fatal).
func userError(err error) (field, msg string, fatal error) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindForbidden || (ae.Kind == apperr.KindNotFound && ae.Field == "") {
		return "", "", err
	}
	return ae.Field, ae.Message, nil
}

func statusOf(err error) int { return apperr.Status(apperr.KindOf(err)) }
