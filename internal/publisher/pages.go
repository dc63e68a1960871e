package publisher

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
)

// Page names.
const (
	pageAPIs       = "publisher/apis"
	pageNew        = "publisher/new"
	pageImport     = "publisher/import"
	pageAPI        = "publisher/api"
	pageOperations = "publisher/operations"
	pageDocuments  = "publisher/documents"
	pageOpenAPI    = "publisher/openapi"
	pageTiers      = "publisher/tiers"
)

// Pages serves the catalog pages of the publisher UI.
type Pages struct {
	svc *catalog.Service
	web *account.Web
	r   *render.Renderer
	md  *catalog.Markdown
}

// NewPages returns the publisher's catalog pages.
func NewPages(svc *catalog.Service, web *account.Web, r *render.Renderer) *Pages {
	return &Pages{svc: svc, web: web, r: r, md: catalog.NewMarkdown()}
}

// Register adds the pages to the /publisher group g. The two routes that take
// whole OpenAPI documents are added to e with the middleware large (the browser
// middleware with a body limit fit for catalog.MaxSpecBytes).
func (p *Pages) Register(g *echo.Group, e *echo.Echo, large []echo.MiddlewareFunc) {
	g.Use(p.web.RequireRole(account.RoleAdmin, account.RolePublisher))
	g.GET("/apis", p.list)
	g.GET("/apis/new", p.newForm)
	g.POST("/apis", p.create)
	g.GET("/apis/import", p.importForm)
	e.POST("/publisher/apis/import", p.importSpec, large...)
	g.GET("/apis/:id", p.show)
	g.POST("/apis/:id", p.update)
	g.POST("/apis/:id/lifecycle", p.lifecycle)
	g.POST("/apis/:id/versions", p.newVersion)
	g.POST("/apis/:id/delete", p.delete)
	g.GET("/apis/:id/operations", p.operations)
	g.POST("/apis/:id/operations", p.addOperation)
	g.POST("/apis/:id/operations/:op", p.updateOperation)
	g.POST("/apis/:id/operations/:op/delete", p.deleteOperation)
	g.GET("/apis/:id/documents", p.documents)
	g.POST("/apis/:id/documents", p.saveDocument)
	g.POST("/apis/:id/documents/:doc/delete", p.deleteDocument)
	g.GET("/apis/:id/openapi", p.openAPI)
	e.POST("/publisher/apis/:id/openapi", p.saveOpenAPI, large...)
	g.GET("/tiers", p.tiers)
	g.POST("/tiers", p.createTier)
}

func ctxOf(c echo.Context) context.Context { return c.Request().Context() }

func (p *Pages) base(c echo.Context, title string) (render.Base, error) {
	return p.web.Base(c, "publisher", title, nil)
}

// userError splits an error into what a form shows (field, message) and what is
// not the user's to fix (returned as err).
func userError(err error) (field, msg string, fatal error) {
	ae, ok := apperr.As(err)
	if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindNotFound || ae.Kind == apperr.KindForbidden {
		return "", "", err
	}
	return ae.Field, ae.Message, nil
}

func statusOf(err error) int { return apperr.Status(apperr.KindOf(err)) }

func splitList(s string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' || r == '\t' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func flashFrom(c echo.Context) string { return c.QueryParam("done") }

func redirect(c echo.Context, path, flash string) error {
	if flash != "" {
		path += "?done=" + url.QueryEscape(flash)
	}
	return c.Redirect(http.StatusSeeOther, path)
}

// ---- list ----

type apisView struct {
	render.Base
	APIs       []catalog.API
	Q          string
	NextCursor string
	GatewayURL func(catalog.API) string
}

func (p *Pages) list(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	apis, err := p.svc.ListAPIs(ctxOf(c), account.Caller(c), catalog.ListQuery{Q: q, After: page.After, Limit: page.Limit + 1})
	if err != nil {
		return err
	}
	l := httpx.NewList(page, apis, func(a catalog.API) string { return a.ID })
	base, err := p.base(c, "APIs")
	if err != nil {
		return err
	}
	base.Flash = flashFrom(c)
	return p.r.Page(c.Response(), http.StatusOK, pageAPIs, apisView{Base: base, APIs: l.Items, Q: q, NextCursor: l.NextCursor, GatewayURL: p.svc.GatewayURL})
}

// ---- create ----

type newView struct {
	render.Base
	Name, Context, Version, BackendURL render.Field
	Description                        string
	FormError                          string
}

func newFields() newView {
	return newView{
		Name:       render.Field{Name: "name", Label: "Name", Type: "text", Required: true, Auto: "off"},
		Context:    render.Field{Name: "context", Label: "Context (the first path segment, e.g. pets)", Type: "text", Required: true, Auto: "off"},
		Version:    render.Field{Name: "version", Label: "Version", Type: "text", Required: true, Value: "v1", Auto: "off"},
		BackendURL: render.Field{Name: "backend_url", Label: "Backend URL", Type: "url", Auto: "off"},
	}
}

func (p *Pages) newForm(c echo.Context) error { return p.renderNew(c, http.StatusOK, newFields()) }

func (p *Pages) renderNew(c echo.Context, status int, v newView) error {
	base, err := p.base(c, "New API")
	if err != nil {
		return err
	}
	v.Base = base
	return p.r.Page(c.Response(), status, pageNew, v)
}

func (p *Pages) create(c echo.Context) error {
	v := newFields()
	v.Name.Value, v.Context.Value, v.Version.Value = c.FormValue("name"), c.FormValue("context"), c.FormValue("version")
	v.BackendURL.Value, v.Description = c.FormValue("backend_url"), c.FormValue("description")
	in := catalog.APIInput{Name: &v.Name.Value, Context: v.Context.Value, Version: v.Version.Value, Description: &v.Description}
	if strings.TrimSpace(v.BackendURL.Value) != "" {
		in.BackendURL = &v.BackendURL.Value
	}
	a, err := p.svc.CreateAPI(ctxOf(c), account.Caller(c), in)
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		switch field {
		case "name":
			v.Name.Error = msg
		case "context":
			v.Context.Error = msg
		case "version":
			v.Version.Error = msg
		case "backend_url", "endpoints":
			v.BackendURL.Error = msg
		default:
			v.FormError = msg
		}
		return p.renderNew(c, statusOf(err), v)
	}
	return redirect(c, "/publisher/apis/"+a.ID, "Created "+a.Name+" "+a.Version+".")
}

// ---- import ----

type importView struct {
	render.Base
	Context, Version, BackendURL, URL render.Field
	Spec                              string
	SpecError                         string
	FormError                         string
}

func importFields() importView {
	return importView{
		Context:    render.Field{Name: "context", Label: "Context (the first path segment, e.g. petstore)", Type: "text", Required: true, Auto: "off"},
		Version:    render.Field{Name: "version", Label: "Version (default: the spec's info.version)", Type: "text", Auto: "off"},
		BackendURL: render.Field{Name: "backend_url", Label: "Backend URL (default: the spec's first server)", Type: "url", Auto: "off"},
		URL:        render.Field{Name: "url", Label: "…or fetch it from a URL", Type: "url", Auto: "off"},
	}
}

func (p *Pages) importForm(c echo.Context) error {
	return p.renderImport(c, http.StatusOK, importFields())
}

func (p *Pages) renderImport(c echo.Context, status int, v importView) error {
	base, err := p.base(c, "Import an API")
	if err != nil {
		return err
	}
	v.Base = base
	return p.r.Page(c.Response(), status, pageImport, v)
}

func (p *Pages) importSpec(c echo.Context) error {
	v := importFields()
	v.Context.Value, v.Version.Value, v.BackendURL.Value, v.URL.Value = c.FormValue("context"), c.FormValue("version"), c.FormValue("backend_url"), c.FormValue("url")
	v.Spec = c.FormValue("spec")
	spec := v.Spec
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		if fh.Size > catalog.MaxSpecBytes {
			v.SpecError = fmt.Sprintf("The file is larger than %d MiB.", catalog.MaxSpecBytes>>20)
			return p.renderImport(c, http.StatusRequestEntityTooLarge, v)
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, catalog.MaxSpecBytes+1))
		f.Close()
		if err != nil {
			return err
		}
		spec = string(b)
	}
	if strings.TrimSpace(spec) == "" && strings.TrimSpace(v.URL.Value) == "" {
		v.SpecError = "Paste the OpenAPI document, choose its file, or give its URL."
		return p.renderImport(c, http.StatusBadRequest, v)
	}
	res, err := p.svc.Import(ctxOf(c), account.Caller(c), catalog.ImportInput{Spec: spec, URL: v.URL.Value, Context: v.Context.Value, Version: v.Version.Value, BackendURL: v.BackendURL.Value})
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		switch field {
		case "context":
			v.Context.Error = msg
		case "version":
			v.Version.Error = msg
		case "backend_url", "endpoints":
			v.BackendURL.Error = msg
		case "url":
			v.URL.Error = msg
		case "spec":
			v.SpecError = msg
		default:
			v.FormError = msg
		}
		if len(v.Spec) > 1<<20 {
			v.Spec = "" // too large to send back; the error says what to fix
		}
		return p.renderImport(c, statusOf(err), v)
	}
	flash := fmt.Sprintf("Imported %s %s with %d operations.", res.API.Name, res.API.Version, res.Operations)
	if len(res.Notes) > 0 {
		flash += " Notes: " + strings.Join(res.Notes, " ")
	}
	return redirect(c, "/publisher/apis/"+res.API.ID, flash)
}

// ---- one API ----

type apiView struct {
	render.Base
	API        catalog.API
	Tab        string
	GatewayURL string
	Actions    []catalog.Action
	Versions   []catalog.API
	OpCount    int64
	Tiers      []catalog.Tier
	Backend    catalog.BackendCredential
	Form       apiForm
	FormError  string
	Errors     map[string]string
	Version    render.Field
	// History is the API's audit trail, newest first.
	History []account.AuditEvent
}

type apiForm struct {
	Name, Description, Endpoints, Balance, Tags, Visibility, Approval, Timeout string
	Auth, Tiers                                                                map[string]bool
	DefaultVersion                                                             bool
	BackendAuthType, BackendAuthName                                           string
	CORSEnabled                                                                bool
	CORSOrigins                                                                string
	MaxRequestBytes                                                            string
}

func formOf(a catalog.API) apiForm {
	f := apiForm{Name: a.Name, Description: a.Description, Balance: a.Balance, Visibility: a.Visibility, Approval: a.Approval,
		Timeout: strconv.Itoa(a.TimeoutMS), MaxRequestBytes: strconv.FormatInt(a.MaxRequestBytes, 10), Auth: map[string]bool{}, Tiers: map[string]bool{}, DefaultVersion: a.DefaultVersion,
		BackendAuthType: a.BackendAuthType, BackendAuthName: a.BackendAuthName, Tags: strings.Join(a.TagList(), ", ")}
	var eps []string
	for _, e := range a.EndpointList() {
		eps = append(eps, e.URL)
	}
	f.Endpoints = strings.Join(eps, "\n")
	for _, x := range a.AuthList() {
		f.Auth[x] = true
	}
	for _, x := range a.TierList() {
		f.Tiers[x] = true
	}
	cors := a.CORSPolicy()
	f.CORSEnabled, f.CORSOrigins = cors.Enabled, strings.Join(cors.AllowOrigins, ", ")
	return f
}

func (p *Pages) loadAPI(c echo.Context, v *apiView, tab string) error {
	ctx, pr := ctxOf(c), account.Caller(c)
	a, err := p.svc.API(ctx, pr, c.Param("id"))
	if err != nil {
		return err
	}
	base, err := p.base(c, a.Name+" "+a.Version)
	if err != nil {
		return err
	}
	base.Flash = flashFrom(c)
	v.Base, v.API, v.Tab, v.GatewayURL, v.Actions = base, a, tab, p.svc.GatewayURL(a), catalog.LegalActions(a.State)
	if v.Errors == nil {
		v.Errors = map[string]string{}
	}
	return nil
}

func (p *Pages) show(c echo.Context) error {
	var v apiView
	if err := p.loadAPI(c, &v, "overview"); err != nil {
		return err
	}
	v.Form = formOf(v.API)
	return p.renderShow(c, http.StatusOK, v)
}

func (p *Pages) renderShow(c echo.Context, status int, v apiView) error {
	ctx, pr := ctxOf(c), account.Caller(c)
	var err error
	if v.Versions, err = p.svc.Versions(ctx, pr, v.API.ID); err != nil {
		return err
	}
	if v.OpCount, err = p.svc.CountOperations(ctx, pr, v.API.ID); err != nil {
		return err
	}
	if v.Tiers, err = p.svc.Tiers(ctx, pr); err != nil {
		return err
	}
	if v.History, err = p.svc.History(ctx, pr, v.API.ID, 20); err != nil {
		return err
	}
	if v.Version.Name == "" {
		v.Version = render.Field{Name: "version", Label: "New version", Type: "text", Required: true, Auto: "off"}
	}
	return p.r.Page(c.Response(), status, pageAPI, v)
}

func (p *Pages) update(c echo.Context) error {
	var v apiView
	if err := p.loadAPI(c, &v, "overview"); err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	f := apiForm{Name: form.Get("name"), Description: form.Get("description"), Endpoints: form.Get("endpoints"), Balance: form.Get("balance"),
		Tags: form.Get("tags"), Visibility: form.Get("visibility"), Approval: form.Get("approval"), Timeout: form.Get("timeout_ms"),
		Auth: map[string]bool{}, Tiers: map[string]bool{}, DefaultVersion: form.Get("default_version") == "on",
		BackendAuthType: form.Get("backend_auth_type"), BackendAuthName: form.Get("backend_auth_name"),
		CORSEnabled: form.Get("cors_enabled") == "on", CORSOrigins: form.Get("cors_origins"), MaxRequestBytes: form.Get("max_request_bytes")}
	for _, x := range form["auth"] {
		f.Auth[x] = true
	}
	for _, x := range form["tiers"] {
		f.Tiers[x] = true
	}
	v.Form = f
	timeout, err := strconv.Atoi(strings.TrimSpace(f.Timeout))
	if err != nil {
		v.Errors["timeout_ms"] = "Give the timeout in whole milliseconds."
		return p.renderShow(c, http.StatusBadRequest, v)
	}
	var maxBody int64 // empty: the default
	if s := strings.TrimSpace(f.MaxRequestBytes); s != "" {
		if maxBody, err = strconv.ParseInt(s, 10, 64); err != nil {
			v.Errors["max_request_bytes"] = "Give the largest request body in whole bytes (0 for the default, 10 MiB)."
			return p.renderShow(c, http.StatusBadRequest, v)
		}
	}
	eps, tags, auth, tiers := splitList(f.Endpoints), splitList(f.Tags), form["auth"], form["tiers"]
	if auth == nil {
		auth = []string{}
	}
	if tiers == nil {
		tiers = []string{}
	}
	cors := v.API.CORSPolicy()
	cors.Enabled, cors.AllowOrigins = f.CORSEnabled, splitList(f.CORSOrigins)
	in := catalog.APIInput{Name: &f.Name, Description: &f.Description, Endpoints: &eps, Balance: &f.Balance, Tags: &tags,
		Visibility: &f.Visibility, Approval: &f.Approval, TimeoutMS: &timeout, MaxRequestBytes: &maxBody, Auth: &auth, Tiers: &tiers,
		DefaultVersion: &f.DefaultVersion, CORS: &cors}
	ba := catalog.BackendAuth{Type: f.BackendAuthType}
	switch f.BackendAuthType {
	case "basic":
		ba.Username, ba.Password = f.BackendAuthName, form.Get("backend_auth_secret")
	case "header":
		ba.Header, ba.Value = f.BackendAuthName, form.Get("backend_auth_secret")
	}
	in.BackendAuth = &ba
	a, err := p.svc.UpdateAPI(ctxOf(c), account.Caller(c), v.API.ID, in)
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		if field == "" {
			v.FormError = msg
		} else {
			v.Errors[field] = msg
		}
		return p.renderShow(c, statusOf(err), v)
	}
	return redirect(c, "/publisher/apis/"+a.ID, "Saved.")
}

func (p *Pages) lifecycle(c echo.Context) error {
	action := catalog.Action(c.FormValue("action"))
	res, err := p.svc.ChangeState(ctxOf(c), account.Caller(c), c.Param("id"), action, c.FormValue("deprecate_previous") == "on")
	if err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		var v apiView
		if lerr := p.loadAPI(c, &v, "overview"); lerr != nil {
			return lerr
		}
		v.Form, v.FormError = formOf(v.API), msg
		return p.renderShow(c, statusOf(err), v)
	}
	flash := fmt.Sprintf("%s is now %s.", res.API.Name+" "+res.API.Version, res.API.State)
	for _, d := range res.Deprecated {
		flash += fmt.Sprintf(" %s was deprecated.", d.Version)
	}
	return redirect(c, "/publisher/apis/"+res.API.ID, flash)
}

func (p *Pages) newVersion(c echo.Context) error {
	a, err := p.svc.NewVersion(ctxOf(c), account.Caller(c), c.Param("id"), c.FormValue("version"), c.FormValue("default_version") == "on")
	if err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		var v apiView
		if lerr := p.loadAPI(c, &v, "overview"); lerr != nil {
			return lerr
		}
		v.Form = formOf(v.API)
		v.Version = render.Field{Name: "version", Label: "New version", Type: "text", Required: true, Auto: "off", Value: c.FormValue("version"), Error: msg}
		return p.renderShow(c, statusOf(err), v)
	}
	return redirect(c, "/publisher/apis/"+a.ID, "Created version "+a.Version+" from the previous one.")
}

func (p *Pages) delete(c echo.Context) error {
	if err := p.svc.DeleteAPI(ctxOf(c), account.Caller(c), c.Param("id")); err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		var v apiView
		if lerr := p.loadAPI(c, &v, "overview"); lerr != nil {
			return lerr
		}
		v.Form, v.FormError = formOf(v.API), msg
		return p.renderShow(c, statusOf(err), v)
	}
	return redirect(c, "/publisher/apis", "Deleted the API.")
}

// ---- operations ----

type operationsView struct {
	apiView
	Operations []opRow
	New        opRow
	Methods    []string
	Periods    []string
	NextCursor string
}

type opRow struct {
	ID, Method, Path, Summary, Scopes, LimitPer string
	Auth                                        bool
	LimitRequests                               string
	Error                                       string
}

func rowOf(op catalog.Operation) opRow {
	r := opRow{ID: op.ID, Method: op.Method, Path: op.Path, Summary: op.Summary, Scopes: strings.Join(op.ScopeList(), " "), Auth: op.Auth, LimitPer: op.LimitPer}
	if op.LimitRequests > 0 {
		r.LimitRequests = strconv.FormatInt(op.LimitRequests, 10)
	}
	if r.LimitPer == "" {
		r.LimitPer = "minute"
	}
	return r
}

func (p *Pages) operations(c echo.Context) error {
	return p.renderOperations(c, http.StatusOK, "", opRow{Method: "GET", Auth: true, LimitPer: "minute"})
}

func (p *Pages) renderOperations(c echo.Context, status int, failedID string, failed opRow) error {
	var v operationsView
	if err := p.loadAPI(c, &v.apiView, "operations"); err != nil {
		return err
	}
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	ops, err := p.svc.Operations(ctxOf(c), account.Caller(c), v.API.ID, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	l := httpx.NewList(page, ops, func(o catalog.Operation) string { return o.ID })
	v.NextCursor = l.NextCursor
	for _, op := range l.Items {
		r := rowOf(op)
		if op.ID == failedID {
			r = failed
		}
		v.Operations = append(v.Operations, r)
	}
	v.New = opRow{Method: "GET", Auth: true, LimitPer: "minute"}
	if failedID == "" {
		v.New = failed
	}
	v.Methods, v.Periods = catalog.Methods, catalog.Periods
	return p.r.Page(c.Response(), status, pageOperations, v)
}

func opFromForm(c echo.Context) (opRow, catalog.OperationInput, error) {
	r := opRow{ID: c.Param("op"), Method: c.FormValue("method"), Path: c.FormValue("path"), Summary: c.FormValue("summary"),
		Scopes: c.FormValue("scopes"), Auth: c.FormValue("auth") == "on", LimitRequests: strings.TrimSpace(c.FormValue("limit_requests")), LimitPer: c.FormValue("limit_per")}
	auth := r.Auth
	in := catalog.OperationInput{Method: r.Method, Path: r.Path, Summary: r.Summary, Scopes: splitList(r.Scopes), Auth: &auth, Limit: &catalog.Limit{Per: r.LimitPer}}
	if r.LimitRequests != "" {
		n, err := strconv.ParseInt(r.LimitRequests, 10, 64)
		if err != nil {
			return r, in, apperr.Invalid("limit", "invalid_limit", "Give the limit as a whole number of requests (empty: none).")
		}
		in.Limit.Requests = n
	}
	return r, in, nil
}

func (p *Pages) addOperation(c echo.Context) error {
	r, in, err := opFromForm(c)
	if err == nil {
		_, err = p.svc.CreateOperation(ctxOf(c), account.Caller(c), c.Param("id"), in)
	}
	if err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		r.Error = msg
		return p.renderOperations(c, statusOf(err), "", r)
	}
	return redirect(c, "/publisher/apis/"+c.Param("id")+"/operations", "Added "+strings.ToUpper(r.Method)+" "+r.Path+".")
}

func (p *Pages) updateOperation(c echo.Context) error {
	r, in, err := opFromForm(c)
	if err == nil {
		_, err = p.svc.UpdateOperation(ctxOf(c), account.Caller(c), c.Param("id"), c.Param("op"), in)
	}
	if err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		r.Error = msg
		return p.renderOperations(c, statusOf(err), r.ID, r)
	}
	return redirect(c, "/publisher/apis/"+c.Param("id")+"/operations", "Saved "+strings.ToUpper(r.Method)+" "+r.Path+".")
}

func (p *Pages) deleteOperation(c echo.Context) error {
	if err := p.svc.DeleteOperation(ctxOf(c), account.Caller(c), c.Param("id"), c.Param("op")); err != nil {
		return err
	}
	return redirect(c, "/publisher/apis/"+c.Param("id")+"/operations", "Removed the operation.")
}

// ---- documents ----

type documentsView struct {
	apiView
	Documents []catalog.Document
	// Editing is the document in the editor ("" ID: a new one).
	EditID, Title, Body string
	TitleError          string
	BodyError           string
	Preview             template.HTML
	Rendered            map[string]template.HTML
}

func (p *Pages) documents(c echo.Context) error {
	v := documentsView{}
	if id := c.QueryParam("edit"); id != "" {
		d, err := p.svc.Document(ctxOf(c), account.Caller(c), c.Param("id"), id)
		if err != nil {
			return err
		}
		v.EditID, v.Title, v.Body = d.ID, d.Title, d.Body
	}
	return p.renderDocuments(c, http.StatusOK, v)
}

func (p *Pages) renderDocuments(c echo.Context, status int, v documentsView) error {
	if err := p.loadAPI(c, &v.apiView, "documents"); err != nil {
		return err
	}
	docs, err := p.svc.Documents(ctxOf(c), account.Caller(c), v.API.ID)
	if err != nil {
		return err
	}
	v.Documents, v.Rendered = docs, map[string]template.HTML{}
	for _, d := range docs {
		v.Rendered[d.ID] = p.md.Render(d.Body)
	}
	return p.r.Page(c.Response(), status, pageDocuments, v)
}

func (p *Pages) saveDocument(c echo.Context) error {
	v := documentsView{EditID: c.FormValue("doc_id"), Title: c.FormValue("title"), Body: c.FormValue("body")}
	if c.FormValue("preview") != "" {
		v.Preview = p.md.Render(v.Body)
		return p.renderDocuments(c, http.StatusOK, v)
	}
	in := catalog.DocumentInput{Title: v.Title, Body: v.Body}
	var err error
	if v.EditID == "" {
		_, err = p.svc.CreateDocument(ctxOf(c), account.Caller(c), c.Param("id"), in)
	} else {
		_, err = p.svc.UpdateDocument(ctxOf(c), account.Caller(c), c.Param("id"), v.EditID, in)
	}
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		if field == "body" {
			v.BodyError = msg
		} else {
			v.TitleError = msg
		}
		return p.renderDocuments(c, statusOf(err), v)
	}
	return redirect(c, "/publisher/apis/"+c.Param("id")+"/documents", "Saved "+strings.TrimSpace(v.Title)+".")
}

func (p *Pages) deleteDocument(c echo.Context) error {
	if err := p.svc.DeleteDocument(ctxOf(c), account.Caller(c), c.Param("id"), c.Param("doc")); err != nil {
		return err
	}
	return redirect(c, "/publisher/apis/"+c.Param("id")+"/documents", "Deleted the document.")
}

// ---- OpenAPI editor ----

type openAPIView struct {
	apiView
	Spec      string
	SpecError string
}

func (p *Pages) openAPI(c echo.Context) error {
	var v openAPIView
	if err := p.loadAPI(c, &v.apiView, "openapi"); err != nil {
		return err
	}
	b, err := p.svc.OpenAPI(ctxOf(c), account.Caller(c), v.API.ID)
	if err != nil {
		return err
	}
	v.Spec = string(b)
	return p.r.Page(c.Response(), http.StatusOK, pageOpenAPI, v)
}

func (p *Pages) saveOpenAPI(c echo.Context) error {
	var v openAPIView
	if err := p.loadAPI(c, &v.apiView, "openapi"); err != nil {
		return err
	}
	v.Spec = c.FormValue("spec")
	res, err := p.svc.ReplaceSpec(ctxOf(c), account.Caller(c), v.API.ID, v.Spec)
	if err != nil {
		_, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		v.SpecError = msg
		return p.r.Page(c.Response(), statusOf(err), pageOpenAPI, v)
	}
	return redirect(c, "/publisher/apis/"+v.API.ID+"/openapi", fmt.Sprintf("Saved the document: %d operations.", res.Operations))
}

// ---- tiers ----

type tiersView struct {
	render.Base
	Tiers                                         []catalog.Tier
	Name, Requests, Burst, MonthlyFee, PerCallFee render.Field
	Per                                           string
	Periods                                       []string
	FormError                                     string
}

func tierFields() tiersView {
	return tiersView{
		Name:       render.Field{Name: "name", Label: "Name", Type: "text", Required: true, Auto: "off"},
		Requests:   render.Field{Name: "requests", Label: "Requests", Type: "number", Required: true},
		Burst:      render.Field{Name: "burst", Label: "Burst (extra requests allowed at once)", Type: "number", Value: "0"},
		MonthlyFee: render.Field{Name: "monthly_fee_cents", Label: "Monthly fee (cents)", Type: "number", Value: "0"},
		PerCallFee: render.Field{Name: "per_call_cents", Label: "Price per call (cents)", Type: "number", Value: "0"},
		Per:        "minute",
	}
}

func (p *Pages) tiers(c echo.Context) error { return p.renderTiers(c, http.StatusOK, tierFields()) }

func (p *Pages) renderTiers(c echo.Context, status int, v tiersView) error {
	base, err := p.base(c, "Tiers")
	if err != nil {
		return err
	}
	base.Flash = flashFrom(c)
	ts, err := p.svc.Tiers(ctxOf(c), account.Caller(c))
	if err != nil {
		return err
	}
	v.Base, v.Tiers, v.Periods = base, ts, catalog.Periods
	return p.r.Page(c.Response(), status, pageTiers, v)
}

func (p *Pages) createTier(c echo.Context) error {
	v := tierFields()
	v.Name.Value, v.Requests.Value, v.Burst.Value = c.FormValue("name"), c.FormValue("requests"), c.FormValue("burst")
	v.MonthlyFee.Value, v.PerCallFee.Value, v.Per = c.FormValue("monthly_fee_cents"), c.FormValue("per_call_cents"), c.FormValue("per")
	num := func(f *render.Field) int64 {
		s := strings.TrimSpace(f.Value)
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f.Error = "Give a whole number."
		}
		return n
	}
	in := catalog.TierInput{Name: v.Name.Value, Requests: num(&v.Requests), Per: v.Per, Burst: num(&v.Burst),
		MonthlyFeeCents: num(&v.MonthlyFee), PerCallCents: num(&v.PerCallFee)}
	if v.Requests.Error != "" || v.Burst.Error != "" || v.MonthlyFee.Error != "" || v.PerCallFee.Error != "" {
		return p.renderTiers(c, http.StatusBadRequest, v)
	}
	t, err := p.svc.CreateTier(ctxOf(c), account.Caller(c), in)
	if err != nil {
		field, msg, fatal := userError(err)
		if fatal != nil {
			return fatal
		}
		switch field {
		case "requests":
			v.Requests.Error = msg
		case "burst":
			v.Burst.Error = msg
		case "monthly_fee_cents":
			v.MonthlyFee.Error = msg
		case "per_call_cents":
			v.PerCallFee.Error = msg
		case "name":
			v.Name.Error = msg
		default:
			v.FormError = msg
		}
		return p.renderTiers(c, statusOf(err), v)
	}
	return redirect(c, "/publisher/tiers", "Added the tier "+t.Name+".")
}
