package catalog

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/secrets"
	"portico/internal/store"
)

// Service is the catalog's API to the rest of Portico.
type Service struct {
	st       *store.Store
	repo     repo
	accounts *account.Service
	sealer   *secrets.Sealer
	baseURL  string
	fetch    *fetcher
	log      *slog.Logger
	now      func() time.Time
	// checkTransforms validates rewrite rules (nil: accepted as they are).
	checkTransforms func(string) error
}

// Options configure NewService.
type Options struct {
	// BaseURL is PORTICO_BASE_URL: gateway URLs are BaseURL/{context}/{version}.
	BaseURL string
	// FetchTimeout and FetchAllowPrivate tune URL import (tests allow loopback).
	FetchTimeout      time.Duration
	FetchAllowPrivate bool
	// CheckTransforms validates an API's rewrite rules (JSON). The gateway owns
	// their meaning; app injects its parser so a bad rule is refused on save.
	CheckTransforms func(rules string) error
}

// NewService returns the catalog over st. Backend credentials are sealed with
// keyring's "backend-credentials" key.
func NewService(st *store.Store, accounts *account.Service, keyring *secrets.Keyring, log *slog.Logger, o Options) *Service {
	return &Service{
		st: st, repo: repo{st}, accounts: accounts, sealer: keyring.Sealer("backend-credentials"),
		baseURL: strings.TrimRight(o.BaseURL, "/"), fetch: newFetcher(o.FetchTimeout, o.FetchAllowPrivate),
		log: log, now: func() time.Time { return time.Now().UTC() }, checkTransforms: o.CheckTransforms,
	}
}

// GatewayURL is where the gateway serves a version of an API.
func (s *Service) GatewayURL(a API) string { return s.baseURL + "/" + a.Context + "/" + a.Version }

// BaseURL is PORTICO_BASE_URL.
func (s *Service) BaseURL() string { return s.baseURL }

func canManage(p account.Principal) error { return p.Require(account.RoleAdmin, account.RolePublisher) }

// BackendAuth is an API's backend credential as publishers send it. Secrets are
// write-only: reads show the type and the user or header name.
type BackendAuth struct {
	Type     string `json:"type"` // none, basic, header
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Header   string `json:"header,omitempty"`
	Value    string `json:"value,omitempty"`
}

// BackendTLS is a client certificate (and key) the gateway presents to the
// backend, and optionally a CA that signed the backend's own certificate. An empty
// client_cert removes mutual TLS. The key is sealed at rest and never returned.
type BackendTLS struct {
	ClientCert string `json:"client_cert"`
	ClientKey  string `json:"client_key,omitempty"`
	CACert     string `json:"ca_cert,omitempty"`
}

// APIInput creates or changes an API. Nil fields are left as they are (PATCH) or
// take their defaults (create).
type APIInput struct {
	Name        *string      `json:"name"`
	Context     string       `json:"context"`
	Version     string       `json:"version"`
	Description *string      `json:"description"`
	Tags        *[]string    `json:"tags"`
	BackendURL  *string      `json:"backend_url"`
	Endpoints   *[]string    `json:"endpoints"`
	Balance     *string      `json:"balance"`
	BackendAuth *BackendAuth `json:"backend_auth"`
	Auth        *[]string    `json:"auth"`
	Tiers       *[]string    `json:"tiers"`
	CORS        *CORS        `json:"cors"`
	TimeoutMS   *int         `json:"timeout_ms"`
	// MaxRequestBytes is the largest request body the gateway passes on (0: the
	// default, 10 MiB).
	MaxRequestBytes *int64  `json:"max_request_bytes"`
	DefaultVersion  *bool   `json:"default_version"`
	Visibility      *string `json:"visibility"`
	Approval        *string `json:"approval"`
	// ValidateRequests has the gateway check every call against the OpenAPI
	// document (400 invalid_request naming the field) before the backend sees it.
	ValidateRequests *bool `json:"validate_requests"`
	// Transforms are the gateway's rewrite rules for this API (see the
	// management API document for their shape).
	Transforms *json.RawMessage `json:"transforms"`
	// BackendTLS sets mutual TLS towards the backend.
	BackendTLS *BackendTLS `json:"backend_tls"`
	// Limit caps all calls to this API version together (requests 0 removes it).
	Limit *Limit `json:"limit"`
}

// CreateAPI makes a new API family with its first version, in CREATED.
func (s *Service) CreateAPI(ctx context.Context, p account.Principal, in APIInput) (API, error) {
	if err := canManage(p); err != nil {
		return API{}, err
	}
	var out API
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.create(ctx, p, in, nil)
		if err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "api.create", "api", out.ID, map[string]any{"context": out.Context, "version": out.Version})
	})
	return out, err
}

// create validates in and stores a new family, with ops when given. It runs
// inside the caller's transaction.
func (s *Service) create(ctx context.Context, p account.Principal, in APIInput, ops []OperationInput) (API, error) {
	name, err := checkName(deref(in.Name))
	if err != nil {
		return API{}, err
	}
	cx, err := NormContext(in.Context)
	if err != nil {
		return API{}, err
	}
	version, err := CheckVersion(in.Version)
	if err != nil {
		return API{}, err
	}
	now := s.now()
	a := API{ID: account.NewID(), OrgID: p.OrgID, Name: name, Context: cx, Version: version, State: StateCreated,
		Tags: "[]", Endpoints: "[]", Balance: "failover", BackendAuthType: "none", AuthTypes: encodeJSON([]string{AuthOAuth2, AuthAPIKey}),
		Tiers: encodeJSON([]string{"Unlimited"}), CORS: encodeJSON(CORS{}), TimeoutMS: DefaultTimeoutMS, MaxRequestBytes: DefaultMaxRequestBytes, Visibility: "public", Approval: "auto",
		CreatedBy: p.UserID, CreatedAt: now, UpdatedAt: now}
	a.FamilyID = a.ID
	in.Name = nil
	if err := s.apply(ctx, p, &a, in); err != nil {
		return API{}, err
	}
	if err := s.repo.reserveContext(ctx, &apiContext{Context: cx, OrgID: p.OrgID, FamilyID: a.FamilyID, CreatedAt: now}); err != nil {
		return API{}, err
	}
	if err := s.repo.createAPI(ctx, &a); err != nil {
		return API{}, err
	}
	if err := s.addOperations(ctx, a.ID, ops); err != nil {
		return API{}, err
	}
	if _, err := s.st.BumpConfigVersion(ctx); err != nil {
		return API{}, err
	}
	return a, nil
}

// apply validates and copies the set fields of in onto a (name, context and
// version are handled by the callers).
func (s *Service) apply(ctx context.Context, p account.Principal, a *API, in APIInput) error {
	if in.Name != nil {
		n, err := checkName(*in.Name)
		if err != nil {
			return err
		}
		a.Name = n
	}
	if in.Description != nil {
		d, err := checkDescription(*in.Description)
		if err != nil {
			return err
		}
		a.Description = d
	}
	if in.Tags != nil {
		t, err := checkTags(*in.Tags)
		if err != nil {
			return err
		}
		a.Tags = encodeJSON(t)
	}
	if in.BackendURL != nil && in.Endpoints == nil {
		urls := []string{*in.BackendURL}
		in.Endpoints = &urls
	}
	if in.Endpoints != nil {
		eps, err := checkEndpoints(*in.Endpoints)
		if err != nil {
			if in.BackendURL != nil {
				if ae, ok := apperr.As(err); ok {
					return ae.WithField("backend_url")
				}
			}
			return err
		}
		a.Endpoints = encodeJSON(eps)
	}
	if in.Balance != nil {
		b, err := checkBalance(*in.Balance)
		if err != nil {
			return err
		}
		a.Balance = b
	}
	if in.BackendAuth != nil {
		if err := s.applyBackendAuth(a, *in.BackendAuth); err != nil {
			return err
		}
	}
	if in.Auth != nil {
		at, err := checkAuthTypes(*in.Auth)
		if err != nil {
			return err
		}
		a.AuthTypes = encodeJSON(at)
	}
	if in.Tiers != nil {
		names, err := s.checkTierNames(ctx, p.OrgID, *in.Tiers)
		if err != nil {
			return err
		}
		a.Tiers = encodeJSON(names)
	}
	if in.CORS != nil {
		c, err := checkCORS(*in.CORS)
		if err != nil {
			return err
		}
		a.CORS = encodeJSON(c)
	}
	if in.TimeoutMS != nil {
		t, err := checkTimeout(*in.TimeoutMS)
		if err != nil {
			return err
		}
		a.TimeoutMS = t
	}
	if in.MaxRequestBytes != nil {
		n, err := checkMaxRequestBytes(*in.MaxRequestBytes)
		if err != nil {
			return err
		}
		a.MaxRequestBytes = n
	}
	if in.Visibility != nil {
		v, err := checkVisibility(*in.Visibility)
		if err != nil {
			return err
		}
		a.Visibility = v
	}
	if in.Approval != nil {
		v, err := checkApproval(*in.Approval)
		if err != nil {
			return err
		}
		a.Approval = v
	}
	if in.ValidateRequests != nil {
		a.ValidateRequests = *in.ValidateRequests
	}
	if in.Limit != nil {
		req, per, err := checkLimit("limit", in.Limit.Requests, in.Limit.Per, true)
		if err != nil {
			return err
		}
		a.LimitRequests, a.LimitPer = req, per
	}
	if in.BackendTLS != nil {
		if err := s.applyBackendTLS(a, *in.BackendTLS); err != nil {
			return err
		}
	}
	if in.Transforms != nil {
		rules := strings.TrimSpace(string(*in.Transforms))
		if rules == "null" || rules == "" {
			rules = "{}"
		}
		if s.checkTransforms != nil {
			if err := s.checkTransforms(rules); err != nil {
				return apperr.Invalid("transforms", "invalid_transforms", "The rewrite rules are not valid: "+strings.TrimPrefix(err.Error(), "transforms: ")+".")
			}
		}
		a.Transforms = rules
	}
	if in.DefaultVersion != nil {
		if *in.DefaultVersion && !a.DefaultVersion {
			if err := s.repo.clearDefault(ctx, a.Context, a.ID); err != nil {
				return err
			}
		}
		a.DefaultVersion = *in.DefaultVersion
	}
	return nil
}

func (s *Service) applyBackendTLS(a *API, in BackendTLS) error {
	if strings.TrimSpace(in.ClientCert) == "" {
		a.BackendTLSCert, a.BackendTLSKey, a.BackendTLSCA = "", "", ""
		return nil
	}
	key := in.ClientKey
	if key == "" && a.BackendTLSKey != "" { // keep the stored key when only the certificate changes
		b, err := s.sealer.Open(a.BackendTLSKey)
		if err != nil {
			return fmt.Errorf("catalog: backend TLS key of API %s: %w", a.ID, err)
		}
		key = string(b)
	}
	if _, err := tls.X509KeyPair([]byte(in.ClientCert), []byte(key)); err != nil {
		return apperr.Invalid("backend_tls", "invalid_backend_tls", "client_cert and client_key must be a PEM certificate and its private key: "+err.Error()+".")
	}
	if in.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(in.CACert)) {
		return apperr.Invalid("backend_tls", "invalid_backend_tls", "ca_cert must hold at least one PEM certificate.")
	}
	a.BackendTLSCert, a.BackendTLSKey, a.BackendTLSCA = in.ClientCert, s.sealer.Seal([]byte(key)), in.CACert
	return nil
}

func (s *Service) applyBackendAuth(a *API, in BackendAuth) error {
	switch in.Type {
	case "", "none":
		a.BackendAuthType, a.BackendAuthName, a.BackendSecret = "none", "", ""
	case "basic":
		user := strings.TrimSpace(in.Username)
		if user == "" || strings.Contains(user, ":") || len(user) > 200 {
			return apperr.Invalid("backend_auth", "invalid_backend_auth", "Basic auth needs a user name (without ':').")
		}
		if in.Password == "" {
			if a.BackendAuthType != "basic" || a.BackendSecret == "" {
				return apperr.Invalid("backend_auth", "invalid_backend_auth", "Basic auth needs a password.")
			}
		} else {
			a.BackendSecret = s.sealer.Seal([]byte(in.Password))
		}
		a.BackendAuthType, a.BackendAuthName = "basic", user
	case "header":
		h := strings.TrimSpace(in.Header)
		if !headerRE.MatchString(h) {
			return apperr.Invalid("backend_auth", "invalid_backend_auth", "Give the secret header a name such as X-Backend-Secret.")
		}
		if in.Value == "" {
			if a.BackendAuthType != "header" || a.BackendSecret == "" {
				return apperr.Invalid("backend_auth", "invalid_backend_auth", "The secret header needs a value.")
			}
		} else {
			if strings.ContainsAny(in.Value, "\r\n") {
				return apperr.Invalid("backend_auth", "invalid_backend_auth", "A header value cannot hold line breaks.")
			}
			a.BackendSecret = s.sealer.Seal([]byte(in.Value))
		}
		a.BackendAuthType, a.BackendAuthName = "header", h
	default:
		return apperr.Invalid("backend_auth", "invalid_backend_auth", "backend_auth.type must be none, basic or header.")
	}
	return nil
}

// BackendCredential is an API's backend credential in clear, for the gateway.
type BackendCredential struct {
	Type   string // none, basic, header
	Name   string // user name or header name
	Secret string // password or header value
}

// LogValue keeps the secret out of logs.
func (c BackendCredential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", c.Type), slog.String("name", c.Name))
}

// BackendCredential unseals the API's backend credential.
func (s *Service) BackendCredential(a API) (BackendCredential, error) {
	c := BackendCredential{Type: a.BackendAuthType, Name: a.BackendAuthName}
	if a.BackendSecret == "" {
		return c, nil
	}
	b, err := s.sealer.Open(a.BackendSecret)
	if err != nil {
		return c, fmt.Errorf("catalog: backend credential of API %s: %w", a.ID, err)
	}
	c.Secret = string(b)
	return c, nil
}

// API returns one API of the caller's organisation. Developers see only APIs
// in a state the portal shows; everything else is not found.
func (s *Service) API(ctx context.Context, p account.Principal, id string) (API, error) {
	a, err := s.repo.apiByID(ctx, p.OrgID, id)
	if err != nil {
		return API{}, err
	}
	if !p.Is(account.RoleAdmin, account.RolePublisher) && !a.State.Visible() {
		return API{}, ErrAPINotFound
	}
	return a, nil
}

// managed returns an API the caller may change.
func (s *Service) managed(ctx context.Context, p account.Principal, id string) (API, error) {
	if err := canManage(p); err != nil {
		return API{}, err
	}
	return s.repo.apiByID(ctx, p.OrgID, id)
}

// ListQuery filters a list of APIs.
type ListQuery struct {
	Q     string
	State State
	After string
	Limit int
}

// ListAPIs lists the organisation's APIs, newest first. Developers see only
// the states the portal shows.
func (s *Service) ListAPIs(ctx context.Context, p account.Principal, q ListQuery) ([]API, error) {
	aq := apiQuery{OrgID: p.OrgID, Q: strings.TrimSpace(q.Q), After: q.After, Limit: q.Limit}
	if len(aq.Q) > 200 {
		aq.Q = aq.Q[:200]
	}
	if q.State != "" {
		aq.States = []State{q.State}
	}
	if !p.Is(account.RoleAdmin, account.RolePublisher) {
		visible := []State{}
		for _, st := range []State{StatePublished, StatePrototyped, StateDeprecated} {
			if q.State == "" || q.State == st {
				visible = append(visible, st)
			}
		}
		if len(visible) == 0 {
			return nil, nil
		}
		aq.States = visible
	}
	return s.repo.listAPIs(ctx, aq)
}

// Versions lists every version of the API's family, oldest first.
func (s *Service) Versions(ctx context.Context, p account.Principal, id string) ([]API, error) {
	a, err := s.API(ctx, p, id)
	if err != nil {
		return nil, err
	}
	all, err := s.repo.family(ctx, p.OrgID, a.FamilyID)
	if err != nil || p.Is(account.RoleAdmin, account.RolePublisher) {
		return all, err
	}
	out := all[:0]
	for _, v := range all {
		if v.State.Visible() {
			out = append(out, v)
		}
	}
	return out, nil
}

// UpdateAPI changes the set fields of in. Context and version cannot change.
func (s *Service) UpdateAPI(ctx context.Context, p account.Principal, id string, in APIInput) (API, error) {
	var out API
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, id)
		if err != nil {
			return err
		}
		if in.Context != "" {
			if c, err := NormContext(in.Context); err != nil || c != a.Context {
				return apperr.Invalid("context", "immutable_context", "An API's context cannot change; create a new API instead.")
			}
		}
		if in.Version != "" && in.Version != a.Version {
			return apperr.Invalid("version", "immutable_version", "An API's version cannot change; create a new version instead.")
		}
		if err := s.apply(ctx, p, &a, in); err != nil {
			return err
		}
		a.UpdatedAt = s.now()
		if err := s.repo.saveAPI(ctx, &a); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		out = a
		return s.accounts.Audit(ctx, p, "api.update", "api", a.ID, nil)
	})
	return out, err
}

// DeleteAPI removes an API version that no gateway traffic can depend on.
func (s *Service) DeleteAPI(ctx context.Context, p account.Principal, id string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, id)
		if err != nil {
			return err
		}
		switch a.State {
		case StatePublished, StateBlocked, StateDeprecated:
			return ErrAPIInUse
		}
		if err := s.repo.deleteAPI(ctx, a.ID); err != nil {
			return err
		}
		if err := s.repo.releaseContextIfUnused(ctx, a.Context); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "api.delete", "api", a.ID, map[string]any{"context": a.Context, "version": a.Version})
	})
}

// LifecycleResult is what a lifecycle move did.
type LifecycleResult struct {
	API  API
	From State
	// Deprecated lists the other versions deprecated along with a publish.
	Deprecated []API
}

// ChangeState moves the API along the lifecycle graph. Publishing with
// deprecatePrevious also deprecates the family's other published (or blocked)
// versions. Every move is audited and bumps the config version.
func (s *Service) ChangeState(ctx context.Context, p account.Principal, id string, action Action, deprecatePrevious bool) (LifecycleResult, error) {
	var res LifecycleResult
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, id)
		if err != nil {
			return err
		}
		to, err := Next(a.State, action)
		if err != nil {
			return err
		}
		if to == StatePublished && a.BackendURL() == "" {
			return ErrNoBackend
		}
		res.From = a.State
		now := s.now()
		if err := s.move(ctx, p, &a, action, to, now); err != nil {
			return err
		}
		if action == ActionPublish && deprecatePrevious {
			family, err := s.repo.family(ctx, p.OrgID, a.FamilyID)
			if err != nil {
				return err
			}
			for _, v := range family {
				if v.ID == a.ID || (v.State != StatePublished && v.State != StateBlocked) {
					continue
				}
				if err := s.move(ctx, p, &v, ActionDeprecate, StateDeprecated, now); err != nil {
					return err
				}
				res.Deprecated = append(res.Deprecated, v)
			}
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		res.API = a
		return nil
	})
	return res, err
}

func (s *Service) move(ctx context.Context, p account.Principal, a *API, action Action, to State, now time.Time) error {
	from := a.State
	if err := s.repo.setState(ctx, a.ID, to, now); err != nil {
		return err
	}
	a.State, a.UpdatedAt = to, now
	return s.accounts.Audit(ctx, p, "api.lifecycle", "api", a.ID, map[string]any{"action": action, "from": from, "to": to})
}

// NewVersion copies an API (settings, operations, documents, OpenAPI document)
// into a new version of the same family, in CREATED.
func (s *Service) NewVersion(ctx context.Context, p account.Principal, id, version string, makeDefault bool) (API, error) {
	var out API
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		src, err := s.managed(ctx, p, id)
		if err != nil {
			return err
		}
		v, err := CheckVersion(version)
		if err != nil {
			return err
		}
		now := s.now()
		a := src
		a.ID, a.Version, a.State, a.DefaultVersion, a.CreatedBy, a.CreatedAt, a.UpdatedAt = account.NewID(), v, StateCreated, false, p.UserID, now, now
		if err := s.repo.createAPI(ctx, &a); err != nil {
			return err
		}
		if makeDefault {
			if err := s.repo.clearDefault(ctx, a.Context, a.ID); err != nil {
				return err
			}
			a.DefaultVersion = true
			if err := s.repo.saveAPI(ctx, &a); err != nil {
				return err
			}
		}
		ops, err := s.repo.operations(ctx, src.ID, "", 0)
		if err != nil {
			return err
		}
		for i := range ops {
			ops[i].ID, ops[i].APIID, ops[i].CreatedAt, ops[i].UpdatedAt = account.NewID(), a.ID, now, now
		}
		if err := s.repo.createOperations(ctx, ops); err != nil {
			return err
		}
		docs, err := s.repo.documents(ctx, src.ID)
		if err != nil {
			return err
		}
		for i := range docs {
			docs[i].ID, docs[i].APIID, docs[i].CreatedAt, docs[i].UpdatedAt = account.NewID(), a.ID, now, now
		}
		if err := s.repo.createDocuments(ctx, docs); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		out = a
		return s.accounts.Audit(ctx, p, "api.version", "api", a.ID, map[string]any{"from": src.ID, "version": v})
	})
	return out, err
}

// OpenAPI exports the API's OpenAPI 3 document with the gateway URL as server.
func (s *Service) OpenAPI(ctx context.Context, p account.Principal, id string) ([]byte, error) {
	a, err := s.API(ctx, p, id)
	if err != nil {
		return nil, err
	}
	ops, err := s.repo.operations(ctx, a.ID, "", 0)
	if err != nil {
		return nil, err
	}
	return Export(a, ops, s.GatewayURL(a))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
