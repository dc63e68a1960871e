package catalog

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
)

// ImportBodyLimit bounds POST /api/v1/apis/import: a MaxSpecBytes document,
// JSON-escaped inside the request.
const ImportBodyLimit = MaxSpecBytes + MaxSpecBytes/4

// Handlers serves the catalog's JSON routes.
type Handlers struct {
	svc *Service
	md  *Markdown
}

// NewHandlers returns the JSON handlers.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc, md: NewMarkdown()} }

// Register adds the catalog routes. g is the /api/v1 group (1 MB bodies);
// e receives the import route with its own larger body limit. auth is the
// management API's authentication middleware.
func (h *Handlers) Register(e *echo.Echo, g *echo.Group, auth echo.MiddlewareFunc) {
	e.POST("/api/v1/apis/import", h.importAPI, middleware.BodyLimit(sizeString(ImportBodyLimit)), auth)
	g.POST("/openapi/validate", h.validateSpec, auth)
	g.GET("/apis", h.listAPIs, auth)
	g.POST("/apis", h.createAPI, auth)
	g.GET("/apis/:id", h.getAPI, auth)
	g.PATCH("/apis/:id", h.updateAPI, auth)
	g.DELETE("/apis/:id", h.deleteAPI, auth)
	g.GET("/apis/:id/openapi", h.exportSpec, auth)
	e.PUT("/api/v1/apis/:id/openapi", h.replaceSpec, middleware.BodyLimit(sizeString(ImportBodyLimit)), auth)
	g.POST("/apis/:id/lifecycle", h.lifecycle, auth)
	g.GET("/apis/:id/versions", h.versions, auth)
	g.POST("/apis/:id/versions", h.newVersion, auth)
	g.GET("/apis/:id/operations", h.listOperations, auth)
	g.POST("/apis/:id/operations", h.createOperation, auth)
	g.PATCH("/apis/:id/operations/:op", h.updateOperation, auth)
	g.DELETE("/apis/:id/operations/:op", h.deleteOperation, auth)
	g.GET("/apis/:id/documents", h.listDocuments, auth)
	g.POST("/apis/:id/documents", h.createDocument, auth)
	g.GET("/apis/:id/documents/:doc", h.getDocument, auth)
	g.PATCH("/apis/:id/documents/:doc", h.updateDocument, auth)
	g.DELETE("/apis/:id/documents/:doc", h.deleteDocument, auth)
	g.GET("/tiers", h.listTiers, auth)
	g.POST("/tiers", h.createTier, auth)
	g.GET("/tiers/:id", h.getTier, auth)
	g.PATCH("/tiers/:id", h.updateTier, auth)
	g.DELETE("/tiers/:id", h.deleteTier, auth)
}

func sizeString(n int) string { return strconv.Itoa(n/1024) + "K" }

// APIJSON is an API as the management API shows it.
type APIJSON struct {
	ID               string          `json:"id"`
	OrgID            string          `json:"org_id"`
	Name             string          `json:"name"`
	Context          string          `json:"context"`
	Version          string          `json:"version"`
	Description      string          `json:"description"`
	Tags             []string        `json:"tags"`
	Visibility       string          `json:"visibility"`
	State            State           `json:"state"`
	Actions          []Action        `json:"actions"`
	DefaultVersion   bool            `json:"default_version"`
	BackendURL       string          `json:"backend_url"`
	Endpoints        []Endpoint      `json:"endpoints"`
	Balance          string          `json:"balance"`
	BackendAuth      BackendAuthJSON `json:"backend_auth"`
	Auth             []string        `json:"auth"`
	Tiers            []string        `json:"tiers"`
	CORS             CORS            `json:"cors"`
	TimeoutMS        int             `json:"timeout_ms"`
	MaxRequestBytes  int64           `json:"max_request_bytes"`
	Approval         string          `json:"approval"`
	ValidateRequests bool            `json:"validate_requests"`
	Transforms       json.RawMessage `json:"transforms"`
	// BackendTLS shows the client certificate and CA, never the key.
	BackendTLS *BackendTLS `json:"backend_tls,omitempty"`
	// Limit is the API-wide limit, when there is one.
	Limit      *Limit    `json:"limit,omitempty"`
	GatewayURL string    `json:"gateway_url"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// BackendAuthJSON shows a backend credential without its secret.
type BackendAuthJSON struct {
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Header   string `json:"header,omitempty"`
}

// JSON returns a as the management API shows it.
func (s *Service) JSON(a API) APIJSON {
	ba := BackendAuthJSON{Type: a.BackendAuthType}
	switch a.BackendAuthType {
	case "basic":
		ba.Username = a.BackendAuthName
	case "header":
		ba.Header = a.BackendAuthName
	}
	c := a.CORSPolicy()
	for _, l := range []*[]string{&c.AllowOrigins, &c.AllowMethods, &c.AllowHeaders} {
		if *l == nil {
			*l = []string{}
		}
	}
	actions := LegalActions(a.State)
	if actions == nil {
		actions = []Action{}
	}
	return APIJSON{ID: a.ID, OrgID: a.OrgID, Name: a.Name, Context: a.Context, Version: a.Version, Description: a.Description,
		Tags: a.TagList(), Visibility: a.Visibility, State: a.State, Actions: actions, DefaultVersion: a.DefaultVersion,
		BackendURL: a.BackendURL(), Endpoints: a.EndpointList(), Balance: a.Balance, BackendAuth: ba, Auth: a.AuthList(),
		Tiers: a.TierList(), CORS: c, TimeoutMS: a.TimeoutMS, MaxRequestBytes: a.MaxRequestBytes, Approval: a.Approval, ValidateRequests: a.ValidateRequests, Transforms: rawJSON(a.Transforms), BackendTLS: backendTLSJSON(a), Limit: apiLimitJSON(a), GatewayURL: s.GatewayURL(a),
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

func (h *Handlers) listAPIs(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	q := ListQuery{Q: c.QueryParam("q"), State: State(strings.ToUpper(c.QueryParam("state"))), After: page.After, Limit: page.Limit + 1}
	if q.State != "" && !validState(q.State) {
		return apperr.Invalid("state", "invalid_state", "state must be one of CREATED, PROTOTYPED, PUBLISHED, BLOCKED, DEPRECATED, RETIRED.")
	}
	apis, err := h.svc.ListAPIs(c.Request().Context(), account.Caller(c), q)
	if err != nil {
		return err
	}
	items := make([]APIJSON, len(apis))
	for i, a := range apis {
		items[i] = h.svc.JSON(a)
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(a APIJSON) string { return a.ID }))
}

func validState(s State) bool {
	for _, x := range States {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Handlers) createAPI(c echo.Context) error {
	var in APIInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	a, err := h.svc.CreateAPI(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.svc.JSON(a))
}

// ImportJSON is the answer to an import: the API plus what the import noticed.
type ImportJSON struct {
	APIJSON
	Operations int      `json:"operations"`
	Source     string   `json:"source"`
	Notes      []string `json:"notes"`
}

func (h *Handlers) importAPI(c echo.Context) error {
	var in ImportInput
	if err := httpx.DecodeJSON(c.Request(), &in, ImportBodyLimit); err != nil {
		return err
	}
	if strings.TrimSpace(in.Spec) == "" && strings.TrimSpace(in.URL) == "" {
		return apperr.Invalid("spec", "empty_spec", "Send the OpenAPI document as spec (YAML or JSON text), or its address as url.")
	}
	res, err := h.svc.Import(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, importJSON(h.svc, res))
}

func importJSON(s *Service, res ImportResult) ImportJSON {
	notes := res.Notes
	if notes == nil {
		notes = []string{}
	}
	return ImportJSON{APIJSON: s.JSON(res.API), Operations: res.Operations, Source: res.Source, Notes: notes}
}

// SpecCheckJSON is the answer to a validation.
type SpecCheckJSON struct {
	Valid      bool     `json:"valid"`
	Source     string   `json:"source,omitempty"`
	Operations int      `json:"operations"`
	Notes      []string `json:"notes"`
	Error      string   `json:"error,omitempty"`
	Code       string   `json:"code,omitempty"`
}

func (h *Handlers) validateSpec(c echo.Context) error {
	var in struct {
		Spec string `json:"spec"`
	}
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	spec, err := h.svc.ValidateSpec(c.Request().Context(), account.Caller(c), in.Spec)
	if err != nil {
		if ae, ok := apperr.As(err); ok && (ae.Kind == apperr.KindInvalid || ae.Kind == apperr.KindTooLarge) {
			return c.JSON(http.StatusOK, SpecCheckJSON{Valid: false, Error: ae.Message, Code: ae.Code, Notes: []string{}})
		}
		return err
	}
	notes := spec.Notes
	if notes == nil {
		notes = []string{}
	}
	return c.JSON(http.StatusOK, SpecCheckJSON{Valid: true, Source: spec.Source, Operations: len(spec.Extract().Operations), Notes: notes})
}

func (h *Handlers) getAPI(c echo.Context) error {
	a, err := h.svc.API(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.svc.JSON(a))
}

func (h *Handlers) updateAPI(c echo.Context) error {
	var in APIInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	a, err := h.svc.UpdateAPI(c.Request().Context(), account.Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.svc.JSON(a))
}

func (h *Handlers) deleteAPI(c echo.Context) error {
	if err := h.svc.DeleteAPI(c.Request().Context(), account.Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *Handlers) exportSpec(c echo.Context) error {
	b, err := h.svc.OpenAPI(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, b)
}

func (h *Handlers) replaceSpec(c echo.Context) error {
	var in struct {
		Spec string `json:"spec"`
	}
	if err := httpx.DecodeJSON(c.Request(), &in, ImportBodyLimit); err != nil {
		return err
	}
	res, err := h.svc.ReplaceSpec(c.Request().Context(), account.Caller(c), c.Param("id"), in.Spec)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, importJSON(h.svc, res))
}

// LifecycleJSON is the answer to a lifecycle move.
type LifecycleJSON struct {
	APIJSON
	PreviousState State    `json:"previous_state"`
	Deprecated    []string `json:"deprecated"`
}

func (h *Handlers) lifecycle(c echo.Context) error {
	var in struct {
		Action            Action `json:"action"`
		DeprecatePrevious bool   `json:"deprecate_previous"`
	}
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	res, err := h.svc.ChangeState(c.Request().Context(), account.Caller(c), c.Param("id"), Action(strings.ToLower(string(in.Action))), in.DeprecatePrevious)
	if err != nil {
		return err
	}
	dep := []string{}
	for _, d := range res.Deprecated {
		dep = append(dep, d.ID)
	}
	return c.JSON(http.StatusOK, LifecycleJSON{APIJSON: h.svc.JSON(res.API), PreviousState: res.From, Deprecated: dep})
}

func (h *Handlers) versions(c echo.Context) error {
	vs, err := h.svc.Versions(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	items := make([]APIJSON, len(vs))
	for i, a := range vs {
		items[i] = h.svc.JSON(a)
	}
	return c.JSON(http.StatusOK, httpx.List[APIJSON]{Items: items})
}

func (h *Handlers) newVersion(c echo.Context) error {
	var in struct {
		Version        string `json:"version"`
		DefaultVersion bool   `json:"default_version"`
	}
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	a, err := h.svc.NewVersion(c.Request().Context(), account.Caller(c), c.Param("id"), in.Version, in.DefaultVersion)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.svc.JSON(a))
}

// OperationJSON is an operation as the management API shows it.
type OperationJSON struct {
	ID      string   `json:"id"`
	Method  string   `json:"method"`
	Path    string   `json:"path"`
	Summary string   `json:"summary"`
	Scopes  []string `json:"scopes"`
	Auth    bool     `json:"auth"`
	Limit   *Limit   `json:"limit"`
}

// OperationView returns op as the management API shows it.
func OperationView(op Operation) OperationJSON {
	o := OperationJSON{ID: op.ID, Method: op.Method, Path: op.Path, Summary: op.Summary, Scopes: op.ScopeList(), Auth: op.Auth}
	if op.LimitRequests > 0 {
		o.Limit = &Limit{Requests: op.LimitRequests, Per: op.LimitPer}
	}
	return o
}

func (h *Handlers) listOperations(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	ops, err := h.svc.Operations(c.Request().Context(), account.Caller(c), c.Param("id"), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	items := make([]OperationJSON, len(ops))
	for i, op := range ops {
		items[i] = OperationView(op)
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(o OperationJSON) string { return o.ID }))
}

func (h *Handlers) createOperation(c echo.Context) error {
	var in OperationInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	op, err := h.svc.CreateOperation(c.Request().Context(), account.Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, OperationView(op))
}

func (h *Handlers) updateOperation(c echo.Context) error {
	var in OperationInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	op, err := h.svc.UpdateOperation(c.Request().Context(), account.Caller(c), c.Param("id"), c.Param("op"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, OperationView(op))
}

func (h *Handlers) deleteOperation(c echo.Context) error {
	if err := h.svc.DeleteOperation(c.Request().Context(), account.Caller(c), c.Param("id"), c.Param("op")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// DocumentJSON is a document with its sanitised HTML.
type DocumentJSON struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	HTML      string    `json:"html"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (h *Handlers) documentJSON(d Document) DocumentJSON {
	return DocumentJSON{ID: d.ID, Title: d.Title, Body: d.Body, HTML: string(h.md.Render(d.Body)), UpdatedAt: d.UpdatedAt}
}

func (h *Handlers) listDocuments(c echo.Context) error {
	docs, err := h.svc.Documents(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	items := make([]DocumentJSON, len(docs))
	for i, d := range docs {
		items[i] = h.documentJSON(d)
	}
	return c.JSON(http.StatusOK, httpx.List[DocumentJSON]{Items: items})
}

func (h *Handlers) getDocument(c echo.Context) error {
	d, err := h.svc.Document(c.Request().Context(), account.Caller(c), c.Param("id"), c.Param("doc"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.documentJSON(d))
}

func (h *Handlers) createDocument(c echo.Context) error {
	var in DocumentInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	d, err := h.svc.CreateDocument(c.Request().Context(), account.Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, h.documentJSON(d))
}

func (h *Handlers) updateDocument(c echo.Context) error {
	var in DocumentInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	d, err := h.svc.UpdateDocument(c.Request().Context(), account.Caller(c), c.Param("id"), c.Param("doc"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.documentJSON(d))
}

func (h *Handlers) deleteDocument(c echo.Context) error {
	if err := h.svc.DeleteDocument(c.Request().Context(), account.Caller(c), c.Param("id"), c.Param("doc")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// TierJSON is a tier as the management API shows it.
type TierJSON struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Description     string `json:"description"`
	Requests        int64  `json:"requests"`
	Per             string `json:"per"`
	Unlimited       bool   `json:"unlimited"`
	Burst           int64  `json:"burst"`
	MonthlyFeeCents int64  `json:"monthly_fee_cents"`
	PerCallCents    int64  `json:"per_call_cents"`
	Builtin         bool   `json:"builtin"`
}

// TierView returns t as the management API shows it.
func TierView(t Tier) TierJSON {
	return TierJSON{ID: t.ID, Name: t.Name, Description: t.Description, Requests: t.Requests, Per: t.Per, Unlimited: t.Unlimited(),
		Burst: t.Burst, MonthlyFeeCents: t.MonthlyFeeCents, PerCallCents: t.PerCallCents, Builtin: t.Builtin}
}

func (h *Handlers) listTiers(c echo.Context) error {
	ts, err := h.svc.Tiers(c.Request().Context(), account.Caller(c))
	if err != nil {
		return err
	}
	items := make([]TierJSON, len(ts))
	for i, t := range ts {
		items[i] = TierView(t)
	}
	return c.JSON(http.StatusOK, httpx.List[TierJSON]{Items: items})
}

func (h *Handlers) getTier(c echo.Context) error {
	t, err := h.svc.Tier(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TierView(t))
}

func (h *Handlers) createTier(c echo.Context) error {
	var in TierInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	t, err := h.svc.CreateTier(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, TierView(t))
}

func (h *Handlers) updateTier(c echo.Context) error {
	var in TierInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	t, err := h.svc.UpdateTier(c.Request().Context(), account.Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TierView(t))
}

func (h *Handlers) deleteTier(c echo.Context) error {
	if err := h.svc.DeleteTier(c.Request().Context(), account.Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// rawJSON returns stored JSON text as a raw value ("{}" when empty).
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

func backendTLSJSON(a API) *BackendTLS {
	if a.BackendTLSCert == "" {
		return nil
	}
	return &BackendTLS{ClientCert: a.BackendTLSCert, CACert: a.BackendTLSCA}
}

func apiLimitJSON(a API) *Limit {
	if a.LimitRequests == 0 {
		return nil
	}
	return &Limit{Requests: a.LimitRequests, Per: a.LimitPer}
}
