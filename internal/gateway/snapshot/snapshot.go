package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Snapshot is the compiled Config. Safe for concurrent reads; never mutated.
type Snapshot struct {
	Version  int64
	Built    time.Time
	Issuer   string
	Audience string

	signingKeys map[string]SigningKey
	revoked     map[string]struct{}
	contexts    map[string]*contextRoutes
	keys        map[[32]byte]*APIKey
	apps        map[string]*Application
	appsByCID   map[string]*Application
	subs        map[[2]string]*CompiledSubscription
	routes      int
}

type contextRoutes struct {
	versions map[string]*Route
	def      *Route
}

// Route is one API version, ready to serve.
type Route struct {
	API      *API
	Backends []*url.URL
	Timeout  time.Duration
	// MaxBody is the largest request body passed to the backend (API's
	// MaxRequestBytes, or the default).
	MaxBody int64
	// AcceptsKey, AcceptsToken and Open summarise API.Auth.
	AcceptsKey, AcceptsToken, Open bool
	// Handler proxies to the backend; set by the builder's NewProxy.
	Handler http.Handler
	// CORS is the compiled cross-origin policy (nil: none).
	CORS *CompiledCORS
	// Validator checks requests against the API's OpenAPI document (nil: off).
	Validator RequestValidator
	// Transformer rewrites calls both ways (nil: none).
	Transformer Transformer
	// LimitKey counts the API-wide limit.
	LimitKey string
	// Metrics is what the gateway counts this route's calls with (set by
	// Options.NewMetrics; opaque to the snapshot).
	Metrics any
	ops     []*Op
}

// CompiledCORS holds the policy with its header values joined once.
type CompiledCORS struct {
	AnyOrigin        bool
	Origins          map[string]bool
	Methods, Headers string
	MaxAge           string
	AllowCredentials bool
}

// Op is a compiled operation.
type Op struct {
	Operation
	// Name is "METHOD /path/{template}", as metering reports it.
	Name string
	// LimitSuffix is appended to a subscription id to count this operation's
	// own limit; OpenLimitKey counts it for an open API.
	LimitSuffix, OpenLimitKey string
	segs                      []string // "" marks a {parameter}
}

// CompiledSubscription is a subscription with its tier resolved.
type CompiledSubscription struct {
	Subscription
	// Tier is nil when the subscription names a tier its organisation lacks
	// (refused as unlimited would be unsafe: the gateway answers 403).
	Tier *Tier
	// BurstKey counts the per-second burst apart from the tier's window.
	BurstKey string
}

// RequestValidator checks a request (whose path after the API's prefix is rest)
// against an API's document. The error's message names what is wrong.
type RequestValidator interface {
	Validate(r *http.Request, rest string) error
}

// Transformer rewrites a request on its way to the backend and the answer on its
// way back.
type Transformer interface {
	Request(*http.Request) error
	Response(*http.Response) error
}

// Options adjust Build.
type Options struct {
	// NewMetrics prepares a route's metric handles once per build.
	NewMetrics func(*Route) any
	// NewTransformer compiles a route's rewrite rules (nil result: none).
	NewTransformer func(*Route) (Transformer, error)
	// NewValidator compiles a route's request validator, once per build.
	NewValidator func(*Route) (RequestValidator, error)
	// NewProxy builds the handler that forwards a route's traffic. It runs once
	// per route per build, never per request.
	NewProxy func(*Route) (http.Handler, error)
	Now      func() time.Time
}

// DefaultTimeout applies when an API sets none.
const DefaultTimeout = 30 * time.Second

// DefaultMaxRequestBytes caps a request body when an API sets no limit.
const DefaultMaxRequestBytes = 10 << 20

// Build validates and compiles cfg. An error leaves the caller's current
// snapshot in place (the loader keeps serving the last good one).
func Build(cfg Config, opts Options) (*Snapshot, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	s := &Snapshot{
		Version: cfg.Version, Built: now(), Issuer: cfg.Issuer, Audience: cfg.Audience,
		signingKeys: make(map[string]SigningKey, len(cfg.SigningKeys)),
		revoked:     make(map[string]struct{}, len(cfg.RevokedTokens)),
		contexts:    map[string]*contextRoutes{},
		keys:        make(map[[32]byte]*APIKey, len(cfg.Keys)),
		apps:        make(map[string]*Application, len(cfg.Applications)),
		appsByCID:   make(map[string]*Application, len(cfg.Applications)),
		subs:        make(map[[2]string]*CompiledSubscription, len(cfg.Subscriptions)),
	}
	for _, k := range cfg.SigningKeys {
		if k.KID == "" || k.Key == nil {
			return nil, fmt.Errorf("snapshot: signing key without kid or key")
		}
		s.signingKeys[k.KID] = k
	}
	for _, jti := range cfg.RevokedTokens {
		s.revoked[jti] = struct{}{}
	}
	for i := range cfg.APIs {
		api := cfg.APIs[i]
		r, err := compileRoute(&api, opts)
		if err != nil {
			return nil, fmt.Errorf("snapshot: API %s (%s/%s): %w", api.ID, api.Context, api.Version, err)
		}
		cr := s.contexts[api.Context]
		if cr == nil {
			cr = &contextRoutes{versions: map[string]*Route{}}
			s.contexts[api.Context] = cr
		}
		if _, dup := cr.versions[api.Version]; dup {
			return nil, fmt.Errorf("snapshot: two APIs at /%s/%s", api.Context, api.Version)
		}
		cr.versions[api.Version] = r
		if api.Default {
			cr.def = r
		}
		s.routes++
	}
	apps := append([]Application(nil), cfg.Applications...) // Build never changes its input
	for i := range apps {
		a := &apps[i]
		a.Header = []string{a.ID}
		a.LimitKey = "app:" + a.ID
		s.apps[a.ID] = a
		if a.ClientID != "" {
			s.appsByCID[a.ClientID] = a
		}
	}
	for i := range cfg.Keys {
		k := &cfg.Keys[i]
		raw, err := hex.DecodeString(k.Hash)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("snapshot: API key hash is not hex SHA-256")
		}
		s.keys[[32]byte(raw)] = k
	}
	tiers := make(map[[2]string]*Tier, len(cfg.Tiers))
	for i := range cfg.Tiers {
		t := &cfg.Tiers[i]
		tiers[[2]string{t.OrgID, t.Name}] = t
	}
	apiOrg := make(map[string]string, len(cfg.APIs))
	for _, a := range cfg.APIs {
		apiOrg[a.ID] = a.OrgID
	}
	for _, sub := range cfg.Subscriptions {
		cs := &CompiledSubscription{Subscription: sub, Tier: tiers[[2]string{apiOrg[sub.APIID], sub.Tier}], BurstKey: sub.ID + "#burst"}
		s.subs[[2]string{sub.ApplicationID, sub.APIID}] = cs
	}
	return s, nil
}

func compileRoute(api *API, opts Options) (*Route, error) {
	if api.Context == "" || strings.Contains(api.Context, "/") {
		return nil, fmt.Errorf("bad context %q", api.Context)
	}
	r := &Route{API: api, Timeout: DefaultTimeout, MaxBody: DefaultMaxRequestBytes, LimitKey: "api:" + api.ID}
	if api.TimeoutMS > 0 {
		r.Timeout = time.Duration(api.TimeoutMS) * time.Millisecond
	}
	if api.MaxRequestBytes > 0 {
		r.MaxBody = api.MaxRequestBytes
	}
	for _, a := range api.Auth {
		switch a {
		case AuthAPIKey:
			r.AcceptsKey = true
		case AuthOAuth2:
			r.AcceptsToken = true
		}
	}
	r.Open = !r.AcceptsKey && !r.AcceptsToken
	for _, b := range api.Backends {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("backend %q is not an http(s) URL", b)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		r.Backends = append(r.Backends, u)
	}
	for _, op := range api.Operations {
		name := op.Method + " " + op.Path
		r.ops = append(r.ops, &Op{Operation: op, Name: name, LimitSuffix: "|" + name, OpenLimitKey: "api:" + api.ID + "|" + name, segs: templateSegments(op.Path)})
	}
	if c := api.CORS; c != nil {
		cc := &CompiledCORS{Origins: map[string]bool{}, AllowCredentials: c.AllowCredentials,
			Methods: strings.Join(c.AllowMethods, ", "), Headers: strings.Join(c.AllowHeaders, ", ")}
		for _, o := range c.AllowOrigins {
			if o == "*" {
				cc.AnyOrigin = true
			}
			cc.Origins[o] = true
		}
		if cc.Methods == "" {
			cc.Methods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
		}
		if cc.Headers == "" {
			cc.Headers = "Authorization, Content-Type, apikey"
		}
		if c.MaxAge > 0 {
			cc.MaxAge = strconv.Itoa(c.MaxAge)
		}
		r.CORS = cc
	}
	// Literal segments beat parameters: /pets/mine matches before /pets/{id}.
	sort.SliceStable(r.ops, func(i, j int) bool { return literals(r.ops[i].segs) > literals(r.ops[j].segs) })
	if api.ValidateRequests && api.Spec != "" && opts.NewValidator != nil {
		v, err := opts.NewValidator(r)
		if err != nil {
			return nil, fmt.Errorf("request validation: %w", err)
		}
		r.Validator = v
	}
	if opts.NewMetrics != nil {
		r.Metrics = opts.NewMetrics(r)
	}
	if api.Transforms != "" && opts.NewTransformer != nil {
		t, err := opts.NewTransformer(r)
		if err != nil {
			return nil, err
		}
		r.Transformer = t
	}
	if opts.NewProxy != nil && len(r.Backends) > 0 {
		h, err := opts.NewProxy(r)
		if err != nil {
			return nil, err
		}
		r.Handler = h
	}
	return r, nil
}

func templateSegments(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = ""
		}
	}
	return segs
}

func literals(segs []string) int {
	n := 0
	for _, s := range segs {
		if s != "" {
			n++
		}
	}
	return n
}

// Route finds the API a request path reaches: /{context}/{version}/{rest} or,
// through the default version, /{context}/{rest}. rest keeps its leading slash.
func (s *Snapshot) Route(path string) (r *Route, rest string, ok bool) {
	// Slices of path only: no allocation on the hot path.
	if !strings.HasPrefix(path, "/") {
		return nil, "", false
	}
	end := 1 + segLen(path[1:])
	cr := s.contexts[path[1:end]]
	if cr == nil {
		return nil, "", false
	}
	after := path[end:] // "" or "/v1/pets"
	if len(after) > 1 {
		vend := 1 + segLen(after[1:])
		if vr := cr.versions[after[1:vend]]; vr != nil {
			return vr, orRoot(after[vend:]), true
		}
	}
	if cr.def != nil {
		return cr.def, orRoot(after), true
	}
	return nil, "", false
}

func segLen(p string) int {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return i
	}
	return len(p)
}

func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// Match finds the operation for method and rest. A route without operations
// lets every path through (ok with a nil Op); with operations, no match is !ok.
func (r *Route) Match(method, rest string) (*Op, bool) {
	if len(r.ops) == 0 {
		return nil, true
	}
	for _, op := range r.ops {
		if op.Method == method && matchSegments(op.segs, rest) {
			return op, true
		}
	}
	return nil, false
}

// matchSegments compares a path with a compiled template without allocating.
func matchSegments(segs []string, path string) bool {
	path = strings.Trim(path, "/")
	for _, want := range segs {
		if path == "" {
			return false
		}
		seg, after, _ := strings.Cut(path, "/")
		if want != "" && want != seg {
			return false
		}
		path = after
	}
	return path == ""
}

// Key returns the API key whose SHA-256 is sum.
func (s *Snapshot) Key(sum [32]byte) *APIKey { return s.keys[sum] }

// Application finds an application by id.
func (s *Snapshot) Application(id string) *Application { return s.apps[id] }

// ApplicationByClientID finds an application by its OAuth client id.
func (s *Snapshot) ApplicationByClientID(clientID string) *Application { return s.appsByCID[clientID] }

// Subscription finds an application's subscription to an API.
func (s *Snapshot) Subscription(appID, apiID string) *CompiledSubscription {
	return s.subs[[2]string{appID, apiID}]
}

// SigningKey finds a token-signing key by kid.
func (s *Snapshot) SigningKey(kid string) (SigningKey, bool) {
	k, ok := s.signingKeys[kid]
	return k, ok
}

// Revoked reports whether an access token's jti was revoked.
func (s *Snapshot) Revoked(jti string) bool { _, ok := s.revoked[jti]; return ok }

// Routes counts the API versions served.
func (s *Snapshot) Routes() int { return s.routes }
