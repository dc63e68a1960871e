package portal

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/platform/render"
)

type docView struct {
	ID, Title string
	HTML      template.HTML
}

type tierView struct {
	Name, Description, Limit string
	Paid                     bool
}

type versionView struct {
	ID, Version, State string
	Current            bool
}

// tryItData is what the try-it console reads from the page (as JSON).
type tryItData struct {
	// Base is the path the gateway serves this version at ("/pets/v1"); the
	// console calls it on the page's own origin, where the gateway listens too.
	Base       string        `json:"base"`
	GatewayURL string        `json:"gateway_url"`
	State      string        `json:"state"`
	Auth       []string      `json:"auth"`
	Operations []tryItOpData `json:"operations"`
}

type tryItOpData struct {
	Anchor      string       `json:"anchor"`
	Method      string       `json:"method"`
	Path        string       `json:"path"`
	Summary     string       `json:"summary"`
	Params      []tryItParam `json:"params"`
	ContentType string       `json:"content_type,omitempty"`
	Body        string       `json:"body,omitempty"`
}

type tryItParam struct {
	Name        string `json:"name"`
	In          string `json:"in"`
	Required    bool   `json:"required"`
	Example     string `json:"example,omitempty"`
	Description string `json:"description,omitempty"`
}

type subscribeForm struct {
	Applications  []access.Application
	Application   string
	Tier          string
	AppError      string
	TierError     string
	FormError     string
	Subscriptions []access.SubscriptionDetail
}

type apiView struct {
	render.Base
	PortalPath   string
	API          catalog.API
	State        string
	Tags         []string
	GatewayURL   string
	Description  template.HTML
	Versions     []versionView
	Docs         []docView
	Reference    reference
	RefError     string
	Tiers        []tierView
	Auth         []string
	TryIt        tryItData
	Member       bool
	Subscribe    subscribeForm
	Deprecated   bool
	Prototyped   bool
	Subscribable bool
}

func (w *Web) apiPage(c echo.Context) error {
	org, err := w.org(c)
	if err != nil {
		return err
	}
	return w.renderAPI(c, org, http.StatusOK, subscribeForm{})
}

func (w *Web) renderAPI(c echo.Context, org account.Organization, status int, form subscribeForm) error {
	ctx := ctxOf(c)
	who, isMember := viewer(c, org)
	api, err := w.catalog.API(ctx, who, c.Param("id"))
	if err != nil {
		return err
	}
	if api.Visibility != "public" && !isMember {
		return catalog.ErrAPINotFound
	}
	base, err := w.base(c, "portal", api.Name+" "+api.Version, org)
	if err != nil {
		return err
	}
	v := apiView{Base: base, PortalPath: "/portal/" + org.Slug, API: api, State: string(api.State), Tags: api.TagList(),
		GatewayURL: w.catalog.GatewayURL(api), Auth: api.AuthList(), Member: isMember,
		Deprecated: api.State == catalog.StateDeprecated, Prototyped: api.State == catalog.StatePrototyped,
		Subscribable: api.State == catalog.StatePublished}
	if api.Description != "" {
		v.Description = w.md.Render(api.Description)
	}
	versions, err := w.catalog.Versions(ctx, who, api.ID)
	if err != nil {
		return err
	}
	for _, x := range versions {
		v.Versions = append(v.Versions, versionView{ID: x.ID, Version: x.Version, State: string(x.State), Current: x.ID == api.ID})
	}
	docs, err := w.catalog.Documents(ctx, who, api.ID)
	if err != nil {
		return err
	}
	for _, d := range docs {
		v.Docs = append(v.Docs, docView{ID: d.ID, Title: d.Title, HTML: w.md.Render(d.Body)})
	}
	ops, err := w.catalog.Operations(ctx, who, api.ID, "", 0)
	if err != nil {
		return err
	}
	spec, err := w.catalog.OpenAPI(ctx, who, api.ID)
	if err == nil {
		gen := sampleContext{GatewayURL: v.GatewayURL, APIKey: slices.Contains(v.Auth, catalog.AuthAPIKey)}
		v.Reference, err = buildReference(spec, ops, w.md, gen)
	}
	if err != nil {
		// A stored document the reader cannot read should not take the page down.
		v.RefError = "The reference of this API cannot be shown right now."
		c.Logger().Warnf("portal: reference of API %s: %v", api.ID, err)
	}
	v.TryIt = tryItData{Base: "/" + api.Context + "/" + api.Version, GatewayURL: v.GatewayURL, State: v.State, Auth: v.Auth}
	for _, op := range v.Reference.Operations {
		t := tryItOpData{Anchor: op.Anchor, Method: op.Method, Path: op.Path, Summary: op.Summary, Params: []tryItParam{}}
		for _, p := range op.Params {
			if p.In == "cookie" {
				continue
			}
			t.Params = append(t.Params, tryItParam{Name: p.Name, In: p.In, Required: p.Required, Example: p.Example, Description: p.Description})
		}
		if op.Body != nil {
			t.ContentType, t.Body = op.Body.ContentType, op.Body.Example
		}
		v.TryIt.Operations = append(v.TryIt.Operations, t)
	}

	tiers, err := w.catalog.Tiers(ctx, who)
	if err != nil {
		return err
	}
	offered := api.TierList()
	for _, name := range offered {
		for _, t := range tiers {
			if t.Name == name {
				v.Tiers = append(v.Tiers, tierView{Name: t.Name, Description: t.Description, Limit: limitText(t), Paid: t.Paid()})
			}
		}
	}
	if isMember {
		me, _ := member(c, org)
		if form.Applications == nil {
			apps, err := w.access.List(ctx, me, "", 200)
			if err != nil {
				return err
			}
			form.Applications = apps
		}
		subs, err := w.access.SubscriptionDetails(ctx, me, access.SubscriptionQuery{APIID: api.ID, Limit: 200})
		if err != nil {
			return err
		}
		form.Subscriptions = subs
		if form.Tier == "" && len(offered) > 0 {
			form.Tier = offered[len(offered)-1]
			if slices.Contains(offered, "Bronze") {
				form.Tier = "Bronze"
			}
		}
	}
	v.Subscribe = form
	return w.r.Page(c.Response(), status, pageAPI, v)
}

// limitText says a tier's limit in words: "1000 requests a minute".
func limitText(t catalog.Tier) string {
	if t.Unlimited() {
		return "No limit"
	}
	n := strconv.FormatInt(t.Requests, 10) + " requests a " + t.Per
	if t.Requests == 1 {
		n = "1 request a " + t.Per
	}
	return n
}

func (w *Web) subscribe(c echo.Context) error {
	org, err := w.org(c)
	if err != nil {
		return err
	}
	me, err := member(c, org)
	if err != nil {
		return err
	}
	in := access.NewSubscription{ApplicationID: strings.TrimSpace(c.FormValue("application_id")), APIID: c.Param("id"),
		Tier: strings.TrimSpace(c.FormValue("tier"))}
	sub, err := w.access.Subscribe(ctxOf(c), me, in)
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		form := subscribeForm{Application: in.ApplicationID, Tier: in.Tier}
		switch field {
		case "application_id":
			form.AppError = msg
		case "tier":
			form.TierError = msg
		default:
			form.FormError = msg
		}
		return w.renderAPI(c, org, statusOf(err), form)
	}
	flash := "Subscribed on " + sub.Tier + "."
	if sub.Status == access.StatusPending {
		flash = "Subscription on " + sub.Tier + " requested: it waits for the publisher's approval."
	}
	return redirect(c, "/portal/"+org.Slug+"/applications/"+sub.ApplicationID, flash)
}
