package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/oauth"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
)

// keyLifetimes are the expiries the key form offers, in days ("" = never).
var keyLifetimes = []struct{ Value, Label string }{
	{"", "Never"}, {"7", "In 7 days"}, {"30", "In 30 days"}, {"90", "In 90 days"}, {"365", "In a year"},
}

type appRow struct {
	access.Application
	Subscriptions int
}

type applicationsView struct {
	render.Base
	PortalPath               string
	Apps                     []appRow
	NextURL                  string
	Name, Description        render.Field
	CallbackURLs             string
	CallbackError, FormError string
}

type keyView struct {
	access.APIKey
	Expired bool
}

// shownOnce is a secret the page shows this one time.
type shownOnce struct {
	Label, Value, Note string
}

type applicationView struct {
	render.Base
	PortalPath, AppPath      string
	App                      access.Application
	Name, Description        render.Field
	CallbackURLs             string
	CallbackError, FormError string
	Keys                     []keyView
	KeyName                  render.Field
	KeyExpiry                string
	KeyExpiryError           string
	KeyError                 string
	Lifetimes                []struct{ Value, Label string }
	Subscriptions            []access.SubscriptionDetail
	Payments                 map[string]Payment // by subscription id
	Secret                   *shownOnce
	ClientCredentials        bool
	Scope                    render.Field
	TokenError               string
	TokenExpires             string
}

func nameField(v string) render.Field {
	return render.Field{Name: "name", Label: "Name", Type: "text", Value: v, Required: true, Auto: "off"}
}

func descriptionField(v string) render.Field {
	return render.Field{Name: "description", Label: "Description (optional)", Type: "text", Value: v, Auto: "off"}
}

// splitLines reads a textarea of one value per line (or comma separated).
func splitLines(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// orgMember resolves :org and the signed-in caller, who must belong to it.
func (w *Web) orgMember(c echo.Context) (account.Organization, account.Principal, error) {
	org, err := w.org(c)
	if err != nil {
		return org, account.Principal{}, err
	}
	me, err := member(c, org)
	return org, me, err
}

func (w *Web) applications(c echo.Context) error {
	org, err := w.org(c)
	if err != nil {
		return err
	}
	if me, ok := account.PrincipalFrom(ctxOf(c)); ok && me.OrgID != org.ID {
		// Someone else's portal: their own applications live in their own.
		if own, err := w.accounts.Org(ctxOf(c), me.OrgID); err == nil {
			return c.Redirect(http.StatusSeeOther, "/portal/"+own.Slug+"/applications")
		}
	}
	return w.renderApplications(c, http.StatusOK, applicationsView{Name: nameField(""), Description: descriptionField("")})
}

func (w *Web) renderApplications(c echo.Context, status int, v applicationsView) error {
	org, me, err := w.orgMember(c)
	if err != nil {
		return err
	}
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	ctx := ctxOf(c)
	apps, err := w.access.List(ctx, me, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	list := httpx.NewList(page, apps, func(a access.Application) string { return a.ID })
	// One query for every subscription of the caller's applications, not one per row.
	subs, err := w.access.Subscriptions(ctx, me, access.SubscriptionQuery{})
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, s := range subs {
		count[s.ApplicationID]++
	}
	base, err := w.base(c, "applications", "Applications", org)
	if err != nil {
		return err
	}
	v.Base, v.PortalPath = base, "/portal/"+org.Slug
	for _, a := range list.Items {
		v.Apps = append(v.Apps, appRow{Application: a, Subscriptions: count[a.ID]})
	}
	if list.NextCursor != "" {
		v.NextURL = v.PortalPath + "/applications?cursor=" + list.NextCursor
	}
	return w.r.Page(c.Response(), status, pageApplications, v)
}

func (w *Web) createApplication(c echo.Context) error {
	org, me, err := w.orgMember(c)
	if err != nil {
		return err
	}
	in := access.NewApplication{Name: c.FormValue("name"), Description: c.FormValue("description"), CallbackURLs: splitLines(c.FormValue("callback_urls"))}
	app, secret, err := w.access.Create(ctxOf(c), me, in)
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		v := applicationsView{Name: nameField(in.Name), Description: descriptionField(in.Description), CallbackURLs: c.FormValue("callback_urls")}
		switch field {
		case "name":
			v.Name.Error = msg
		case "description":
			v.Description.Error = msg
		case "callback_urls":
			v.CallbackError = msg
		default:
			v.FormError = msg
		}
		return w.renderApplications(c, statusOf(err), v)
	}
	v := w.appForm(app)
	v.Secret = &shownOnce{Label: "Client secret", Value: secret,
		Note: "Copy the client secret now: it is shown this once. Lost it? Rotate it to get a new one."}
	v.Flash = "Created " + app.Name + "."
	return w.renderApplication(c, org, me, http.StatusCreated, app, v)
}

// appForm is the application page with its forms filled from app.
func (w *Web) appForm(app access.Application) applicationView {
	return applicationView{Name: nameField(app.Name), Description: descriptionField(app.Description),
		CallbackURLs: strings.Join(app.CallbackURLs, "\n")}
}

// ownApp resolves :org, the caller and the application :app they may see.
func (w *Web) ownApp(c echo.Context) (account.Organization, account.Principal, access.Application, error) {
	org, me, err := w.orgMember(c)
	if err != nil {
		return org, me, access.Application{}, err
	}
	app, err := w.access.Get(ctxOf(c), me, c.Param("app"))
	return org, me, app, err
}

func (w *Web) application(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	return w.renderApplication(c, org, me, http.StatusOK, app, w.appForm(app))
}

func (w *Web) renderApplication(c echo.Context, org account.Organization, me account.Principal, status int, app access.Application, v applicationView) error {
	ctx := ctxOf(c)
	keys, err := w.access.Keys(ctx, me, app.ID)
	if err != nil {
		return err
	}
	now := w.now()
	for _, k := range keys {
		v.Keys = append(v.Keys, keyView{APIKey: k, Expired: k.ExpiresAt != nil && !k.ExpiresAt.After(now)})
	}
	subs, err := w.access.SubscriptionDetails(ctx, me, access.SubscriptionQuery{ApplicationID: app.ID})
	if err != nil {
		return err
	}
	if w.payments != nil {
		var pending []string
		for _, s := range subs {
			if s.Status == access.StatusPending {
				pending = append(pending, s.ID)
			}
		}
		if len(pending) > 0 {
			if v.Payments, err = w.payments.Payments(ctx, me, pending); err != nil {
				return err
			}
		}
	}
	flash := v.Flash
	base, err := w.base(c, "applications", app.Name, org)
	if err != nil {
		return err
	}
	if flash != "" {
		base.Flash = flash
	}
	v.Base, v.App, v.Subscriptions = base, app, subs
	v.PortalPath = "/portal/" + org.Slug
	v.AppPath = v.PortalPath + "/applications/" + app.ID
	v.Lifetimes = keyLifetimes
	if v.KeyName.Name == "" {
		v.KeyName = render.Field{Name: "key_name", Label: "Key name (optional)", Type: "text", Auto: "off"}
	}
	if v.Scope.Name == "" {
		v.Scope = render.Field{Name: "scope", Label: "Scopes (optional, space separated)", Type: "text", Auto: "off"}
	}
	v.ClientCredentials = !app.Public && app.HasGrant(access.GrantClientCredentials)
	return w.r.Page(c.Response(), status, pageApplication, v)
}

func (w *Web) updateApplication(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	name, desc, cbText := c.FormValue("name"), c.FormValue("description"), c.FormValue("callback_urls")
	cbs := splitLines(cbText)
	updated, err := w.access.Update(ctxOf(c), me, app.ID, access.ApplicationChange{Name: &name, Description: &desc, CallbackURLs: &cbs})
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		v := applicationView{Name: nameField(name), Description: descriptionField(desc), CallbackURLs: cbText}
		switch field {
		case "name":
			v.Name.Error = msg
		case "description":
			v.Description.Error = msg
		case "callback_urls":
			v.CallbackError = msg
		default:
			v.FormError = msg
		}
		return w.renderApplication(c, org, me, statusOf(err), app, v)
	}
	return redirect(c, "/portal/"+org.Slug+"/applications/"+updated.ID, "Saved "+updated.Name+".")
}

type deleteView struct {
	render.Base
	PortalPath, AppPath string
	App                 access.Application
	Keys, Subscriptions int
}

func (w *Web) confirmDelete(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	ctx := ctxOf(c)
	keys, err := w.access.Keys(ctx, me, app.ID)
	if err != nil {
		return err
	}
	subs, err := w.access.Subscriptions(ctx, me, access.SubscriptionQuery{ApplicationID: app.ID})
	if err != nil {
		return err
	}
	base, err := w.base(c, "applications", "Delete "+app.Name, org)
	if err != nil {
		return err
	}
	path := "/portal/" + org.Slug
	return w.r.Page(c.Response(), http.StatusOK, pageDelete, deleteView{Base: base, PortalPath: path,
		AppPath: path + "/applications/" + app.ID, App: app, Keys: len(keys), Subscriptions: len(subs)})
}

func (w *Web) deleteApplication(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	if err := w.access.Delete(ctxOf(c), me, app.ID); err != nil {
		return err
	}
	return redirect(c, "/portal/"+org.Slug+"/applications", "Deleted "+app.Name+": its keys and tokens no longer work.")
}

func (w *Web) rotateSecret(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	app, secret, err := w.access.RotateSecret(ctxOf(c), me, app.ID)
	if err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		v := w.appForm(app)
		v.FormError = msg
		return w.renderApplication(c, org, me, statusOf(err), app, v)
	}
	v := w.appForm(app)
	v.Secret = &shownOnce{Label: "New client secret", Value: secret,
		Note: "Copy the new client secret now: it is shown this once. The old one no longer works."}
	return w.renderApplication(c, org, me, http.StatusOK, app, v)
}

func (w *Web) createKey(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	v := w.appForm(app)
	name, expiry := c.FormValue("key_name"), c.FormValue("expires_in")
	v.KeyName = render.Field{Name: "key_name", Label: "Key name (optional)", Type: "text", Auto: "off", Value: name}
	v.KeyExpiry = expiry
	in := access.NewKey{Name: name}
	if expiry != "" {
		days, err := strconv.Atoi(expiry)
		if err != nil || days < 1 || days > 3650 {
			v.KeyExpiryError = "Choose when the key expires from the list."
			return w.renderApplication(c, org, me, http.StatusBadRequest, app, v)
		}
		at := w.now().Add(time.Duration(days) * 24 * time.Hour)
		in.ExpiresAt = &at
	}
	k, key, err := w.access.CreateKey(ctxOf(c), me, app.ID, in)
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		switch field {
		case "name":
			v.KeyName.Error = msg
		case "expires_at":
			v.KeyExpiryError = msg
		default:
			v.KeyError = msg
		}
		return w.renderApplication(c, org, me, statusOf(err), app, v)
	}
	label := "API key"
	if k.Name != "" {
		label = "API key “" + k.Name + "”"
	}
	v.KeyName.Value, v.KeyExpiry = "", ""
	v.Secret = &shownOnce{Label: label, Value: key,
		Note: "Copy the key now: it is shown this once, and only its prefix " + k.Prefix + " is kept. Send it in the apikey header."}
	return w.renderApplication(c, org, me, http.StatusCreated, app, v)
}

func (w *Web) revokeKey(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	if err := w.access.RevokeKey(ctxOf(c), me, app.ID, c.Param("key")); err != nil {
		return err
	}
	return redirect(c, "/portal/"+org.Slug+"/applications/"+app.ID, "Key revoked: the gateway refuses it within a second.")
}

func (w *Web) getToken(c echo.Context) error {
	org, me, app, err := w.ownApp(c)
	if err != nil {
		return err
	}
	v := w.appForm(app)
	scope := strings.TrimSpace(c.FormValue("scope"))
	v.Scope = render.Field{Name: "scope", Label: "Scopes (optional, space separated)", Type: "text", Auto: "off", Value: scope}
	if w.tokens == nil {
		v.TokenError = "Tokens cannot be issued here: the OAuth server is not running."
		return w.renderApplication(c, org, me, http.StatusServiceUnavailable, app, v)
	}
	tok, err := w.tokens.IssueForOwner(ctxOf(c), me, app, strings.Fields(scope))
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		if field == "scope" {
			v.Scope.Error = msg
		} else {
			v.TokenError = msg
		}
		return w.renderApplication(c, org, me, statusOf(err), app, v)
	}
	v.Secret = tokenShown(tok)
	v.TokenExpires = tok.ExpiresIn.String()
	return w.renderApplication(c, org, me, http.StatusOK, app, v)
}

func tokenShown(tok oauth.IssuedToken) *shownOnce {
	note := "An access token for this application (client credentials), valid for " + tok.ExpiresIn.String() +
		". Send it as Authorization: Bearer …; it is shown this once."
	if tok.Scope != "" {
		note += " Scopes: " + tok.Scope + "."
	}
	return &shownOnce{Label: "Access token", Value: tok.AccessToken, Note: note}
}

func (w *Web) unsubscribe(c echo.Context) error {
	org, me, err := w.orgMember(c)
	if err != nil {
		return err
	}
	ctx := ctxOf(c)
	sub, err := w.access.Subscription(ctx, me, c.Param("sub"))
	if err != nil {
		return err
	}
	// Publishers may end anyone's subscription through the publisher UI; here a
	// developer ends only their own applications'.
	if _, err := w.access.Get(ctx, me, sub.ApplicationID); err != nil {
		return apperr.NotFound("subscription")
	}
	if err := w.access.Unsubscribe(ctx, me, sub.ID); err != nil {
		return err
	}
	return redirect(c, "/portal/"+org.Slug+"/applications/"+sub.ApplicationID, "Unsubscribed.")
}
