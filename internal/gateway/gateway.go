package gateway

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"portico/internal/platform/requestid"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/gateway/ratelimit"
	"portico/internal/gateway/snapshot"
	"portico/internal/gateway/transform"
	"portico/internal/platform/metering"
)

// Options configure a Gateway.
type Options struct {
	Log     *slog.Logger
	Meter   Meter             // nil: events are discarded
	Limiter ratelimit.Limiter // nil: an in-process limiter
	Now     func() time.Time
	// Registry receives the gateway's Prometheus series (nil: not exported).
	Registry prometheus.Registerer
	// BodyIdleTimeout is how long a request body may stall before the call is
	// answered 408 (0: DefaultBodyIdleTimeout).
	BodyIdleTimeout time.Duration
	// WriteIdleTimeout is how long a caller may leave an answer unread before
	// its connection is dropped (0: DefaultWriteIdleTimeout).
	WriteIdleTimeout time.Duration
}

// Gateway serves proxied API traffic from its current snapshot.
type Gateway struct {
	snap    atomic.Pointer[snapshot.Snapshot]
	up      *upstreams
	bufs    bufferPool
	recs    sync.Pool
	tokens  *tokenCache
	limiter ratelimit.Limiter
	meter   Meter
	log     *slog.Logger
	now     func() time.Time
	metrics *gwMetrics
	ids     *requestid.Generator
	// bodyIdle restarts on every read of a request body; writeIdle on every
	// write of an answer.
	bodyIdle, writeIdle time.Duration
	// proxyLog takes the reverse proxies' own complaints (a body cut off by
	// the backend), at debug level: never the standard library's default logger.
	proxyLog *log.Logger
	// loadMu serialises Load; readers never take it.
	loadMu sync.Mutex
}

// New returns a Gateway with no snapshot: it answers 503 until Load succeeds.
func New(o Options) *Gateway {
	g := &Gateway{up: newUpstreams(), tokens: newTokenCache(100_000), limiter: o.Limiter, meter: o.Meter, log: o.Log, now: o.Now,
		metrics: newMetrics(o.Registry), ids: requestid.NewGenerator(), bodyIdle: o.BodyIdleTimeout, writeIdle: o.WriteIdleTimeout}
	if g.bodyIdle <= 0 {
		g.bodyIdle = DefaultBodyIdleTimeout
	}
	if g.writeIdle <= 0 {
		g.writeIdle = DefaultWriteIdleTimeout
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.proxyLog = slog.NewLogLogger(g.log.Handler(), slog.LevelDebug)
	if g.limiter == nil {
		g.limiter = ratelimit.NewLocal()
	}
	if g.meter == nil {
		g.meter = metering.Discard{}
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.recs.New = func() any { return new(recorder) }
	return g
}

// Load compiles cfg and, when it builds, makes it the snapshot every new request
// sees. On error the previous snapshot stays in service.
func (g *Gateway) Load(cfg snapshot.Config) error {
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	s, err := snapshot.Build(cfg, snapshot.Options{NewProxy: g.newProxy, NewValidator: newValidator, NewTransformer: newTransformer, NewMetrics: g.metrics.forRoute, Now: g.now})
	if err != nil {
		return err
	}
	if old := g.snap.Load(); old != nil && !sameKeys(old, cfg) {
		g.tokens.clear()
	}
	g.snap.Store(s)
	return nil
}

func sameKeys(old *snapshot.Snapshot, cfg snapshot.Config) bool {
	if old.Issuer != cfg.Issuer || old.Audience != cfg.Audience {
		return false
	}
	for _, k := range cfg.SigningKeys {
		if _, ok := old.SigningKey(k.KID); !ok {
			return false
		}
	}
	return true
}

// Snapshot returns the snapshot in service (nil before the first Load).
func (g *Gateway) Snapshot() *snapshot.Snapshot { return g.snap.Load() }

// Ready reports whether a snapshot has been loaded (/readyz).
func (g *Gateway) Ready() bool { return g.snap.Load() != nil }

// Close drops idle upstream connections.
func (g *Gateway) Close() { g.up.closeIdle() }

// ServeHTTP runs one call through the route's steps. The order is the contract's:
// route → state → credential → subscription → scope → rate limit → proxy.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	s := g.snap.Load()
	if s == nil {
		errNotReady.write(w)
		return
	}
	route, rest, ok := s.Route(r.URL.Path)
	if !ok {
		errNoAPI.write(w)
		return
	}
	api := route.API
	switch api.State {
	case snapshot.StatePublished:
	case snapshot.StateDeprecated:
		w.Header().Set("Deprecation", "true")
	case snapshot.StatePrototyped:
		g.mock(w, r, route, rest)
		return
	case snapshot.StateBlocked:
		errBlocked.write(w)
		return
	default: // CREATED, RETIRED
		errNoAPI.write(w)
		return
	}
	if route.CORS != nil && cors(w, r, route.CORS) {
		return // a preflight, answered here
	}
	op, ok := route.Match(r.Method, rest)
	if !ok {
		errNoOperation.write(w)
		return
	}

	ev := Event{Time: start, APIID: api.ID, OrgID: api.OrgID}
	if op != nil {
		ev.Operation = op.Name
	}
	rec := g.recs.Get().(*recorder)
	rec.ResponseWriter, rec.status, rec.bytes, rec.backendFailed, rec.failed, rec.body, rec.writeIdle = w, 0, 0, false, false, nil, g.writeIdle
	rec.conn, _ = w.(writeDeadliner)
	defer func() {
		// The proxy aborts a call whose answer broke after its status went
		// out (http.ErrAbortHandler): the caller sees a cut-off body, and the
		// call is still metered, once, as failed.
		aborted := recover()
		ev.Status, ev.BytesOut, ev.BackendFailed = rec.status, rec.bytes, rec.backendFailed
		if ev.Status == 0 {
			ev.Status = http.StatusOK
		}
		if aborted != nil {
			ev.Status, ev.BackendFailed = http.StatusBadGateway, true
			if rec.failed || r.Context().Err() != nil {
				ev.Status, ev.BackendFailed = statusClientClosed, false
			}
		}
		ev.BytesIn = r.ContentLength
		ev.Latency = g.now().Sub(start)
		if rm, ok := route.Metrics.(*routeMetrics); ok {
			rm.observe(ev.Status, ev.Latency.Seconds())
		}
		rec.ResponseWriter, rec.body, rec.conn = nil, nil, nil
		g.recs.Put(rec)
		g.meter.Record(ev)
		if aborted != nil {
			panic(aborted)
		}
	}()

	// The body limit is checked before anything reads the body: a declared
	// length over it is refused at once; a body of unknown length (chunked) is
	// cut off at the limit as it streams.
	var body *bodyReader
	if r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > route.MaxBody {
			writeBodyTooLarge(rec, route.MaxBody)
			return
		}
		body = g.guardBody(w, r, route.MaxBody)
		rec.body = body
	}

	if !route.Open && (op == nil || !op.NoAuth) {
		app, token, gerr := g.authenticate(s, route, r, start)
		if gerr != nil {
			gerr.write(rec)
			return
		}
		ev.ApplicationID = app.ID
		sub := s.Subscription(app.ID, api.ID)
		switch {
		case sub == nil:
			errNotSubscribed.write(rec)
			return
		case sub.Status == snapshot.SubPending:
			errPending.write(rec)
			return
		case sub.Status == snapshot.SubBlocked:
			errSubBlocked.write(rec)
			return
		case sub.Status == snapshot.SubSuspended:
			errPayment.write(rec)
			return
		case sub.Status != snapshot.SubActive:
			errNotSubscribed.write(rec)
			return
		case sub.Tier == nil:
			errNoTier.write(rec)
			return
		}
		ev.SubscriptionID = sub.ID
		if token != nil && op != nil && len(op.Scopes) > 0 && !hasScopes(token.scope, op.Scopes) {
			errScope.write(rec)
			return
		}
		if !g.limit(r.Context(), rec, route, app, sub, op, start) {
			return
		}
		r.Header[headerApplication] = app.Header
		if route.Validator != nil && !g.validate(rec, r, route, rest, body) {
			return
		}
	} else {
		delete(r.Header, headerApplication) // only the gateway may say who is calling
		if route.Validator != nil && !g.validate(rec, r, route, rest, body) {
			return
		}
		if (route.API.Limit != nil || (op != nil && op.Limit != nil)) && !g.limit(r.Context(), rec, route, nil, nil, op, start) {
			return
		}
	}
	g.forward(rec, r, route, rest)
}

// authenticate finds the calling application from an API key or a bearer token,
// as the route accepts. The token is returned for the scope check.
func (g *Gateway) authenticate(s *snapshot.Snapshot, route *snapshot.Route, r *http.Request, now time.Time) (*snapshot.Application, *verifiedToken, *gwError) {
	if key := r.Header.Get(headerAPIKey); key != "" {
		if !route.AcceptsKey {
			return nil, nil, errWrongCredential
		}
		k := s.Key(keySum(key))
		if k == nil || (!k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)) {
			return nil, nil, errBadKey
		}
		app := s.Application(k.ApplicationID)
		if app == nil {
			return nil, nil, errBadKey
		}
		return app, nil, nil
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, nil, errNoCredentials
	}
	scheme, raw, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return nil, nil, errWrongCredential
	}
	if !route.AcceptsToken {
		return nil, nil, errWrongCredential
	}
	tok, ok := g.tokens.get(raw, now)
	if !ok {
		if tok, ok = verifyToken(s, raw, now); !ok {
			return nil, nil, errBadToken
		}
		g.tokens.put(raw, tok, now)
	}
	if tok.jti != "" && s.Revoked(tok.jti) {
		return nil, nil, errBadToken
	}
	app := s.ApplicationByClientID(tok.clientID)
	if app == nil {
		return nil, nil, errBadToken
	}
	return app, &tok, nil
}

// limit applies, in turn, the subscription's per-second burst and tier (sub is
// nil on an open API), the application's own tier (across all its APIs), the
// API-wide limit and the operation's own limit. The
// RateLimit-* headers report the tier, or the tightest other limit on an open
// API. A call a later check refuses is given back to the earlier ones: refusals
// consume nothing. It reports whether the call may go on.
func (g *Gateway) limit(ctx context.Context, w http.ResponseWriter, route *snapshot.Route, app *snapshot.Application, sub *snapshot.CompiledSubscription, op *snapshot.Op, now time.Time) bool {
	var undo [4]struct {
		key   string
		start time.Time
	}
	n := 0
	headers := sub == nil || sub.Tier.Requests <= 0
	check := func(key string, limit int64, per string, refusal *gwError, reportHeaders bool) bool {
		ws, we := ratelimit.Window(per, now)
		res, err := g.limiter.Allow(ctx, key, limit, ws, we)
		if err != nil {
			refusal = errLimiter
		} else if reportHeaders || !res.Allowed {
			setLimitHeaders(w, res, now)
		}
		if err != nil || !res.Allowed {
			for i := 0; i < n; i++ {
				_ = g.limiter.Undo(ctx, undo[i].key, undo[i].start)
			}
			refusal.write(w)
			return false
		}
		undo[n].key, undo[n].start = key, ws
		n++
		return true
	}
	if sub != nil && sub.Tier.Requests > 0 {
		t := sub.Tier
		if t.Burst > 0 && !check(sub.BurstKey, t.Burst, "second", errBurstLimited, false) {
			return false
		}
		if !check(sub.ID, t.Requests, t.Per, quotaError(t.Per), true) {
			return false
		}
	}
	if app != nil && app.Limit != nil && !check(app.LimitKey, app.Limit.Requests, app.Limit.Per, errAppLimited, headers) {
		return false
	}
	if l := route.API.Limit; l != nil && !check(route.LimitKey, l.Requests, l.Per, errAPILimited, headers) {
		return false
	}
	if op != nil && op.Limit != nil {
		key := op.OpenLimitKey
		if sub != nil {
			key = sub.ID + op.LimitSuffix // allocates only for operations with a limit
		}
		if !check(key, op.Limit.Requests, op.Limit.Per, errOperationLimited, headers && route.API.Limit == nil) {
			return false
		}
	}
	return true
}

// quotaError names the limit that was hit: a day's or month's quota, or a rate.
func quotaError(per string) *gwError {
	if per == "day" || per == "month" {
		return errQuota
	}
	return errRateLimited
}

func setLimitHeaders(w http.ResponseWriter, res ratelimit.Result, now time.Time) {
	h := w.Header()
	reset := int64(res.Reset.Sub(now)+time.Second-1) / int64(time.Second)
	if reset < 0 {
		reset = 0
	}
	// One backing array for the three (or four) header values: one allocation.
	vals := make([]string, 3)
	vals[0] = strconv.FormatInt(res.Limit, 10)
	vals[1] = strconv.FormatInt(res.Remaining, 10)
	vals[2] = strconv.FormatInt(reset, 10)
	h["Ratelimit-Limit"] = vals[0:1:1]
	h["Ratelimit-Remaining"] = vals[1:2:2]
	h["Ratelimit-Reset"] = vals[2:3:3]
	if !res.Allowed {
		h["Retry-After"] = vals[2:3:3]
	}
}

// forward sends the call to the backend: the path after the API's prefix, the
// caller's credentials removed, a request id kept or made.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, route *snapshot.Route, rest string) {
	if route.Handler == nil {
		errBadGateway.write(w)
		return
	}
	h := r.Header
	delete(h, "Authorization")
	delete(h, headerAPIKey)
	if id := h.Get(headerRequestID); !requestid.Valid(id) {
		h[headerRequestID] = []string{g.ids.New()}
	}
	stripPrefix(r, rest)
	if route.Transformer != nil {
		if err := route.Transformer.Request(r); err != nil {
			if ce, ok := bodyFailure(err); ok {
				answerBodyFailure(w, ce)
			} else if errors.Is(err, transform.ErrTooLarge) {
				errTooLargeToTransform.write(w)
			} else {
				writeError(w, http.StatusBadRequest, "invalid_request", "The request body cannot be rewritten for the backend: it must be JSON.")
			}
			return
		}
	}
	route.Handler.ServeHTTP(w, r)
}

// newTransformer compiles a route's rules; an API with no rules gets none.
func newTransformer(r *snapshot.Route) (snapshot.Transformer, error) {
	c, err := transform.Parse(r.API.Transforms)
	if c == nil || err != nil {
		return nil, err
	}
	return c, nil
}

// stripPrefix leaves only the part of the path after /{context}[/{version}].
func stripPrefix(r *http.Request, rest string) {
	prefix := r.URL.Path
	if strings.HasSuffix(r.URL.Path, rest) && rest != "/" {
		prefix = r.URL.Path[:len(r.URL.Path)-len(rest)]
	} else if rest == "/" {
		prefix = strings.TrimSuffix(r.URL.Path, "/")
	}
	r.URL.Path = rest
	if r.URL.RawPath != "" {
		if strings.HasPrefix(r.URL.RawPath, prefix) {
			r.URL.RawPath = r.URL.RawPath[len(prefix):]
			if r.URL.RawPath == "" {
				r.URL.RawPath = "/"
			}
		} else {
			r.URL.RawPath = ""
		}
	}
}

// validate checks the call against the API's document: 400 invalid_request
// with the failing field named. A body that could not be read (too large,
// stalled, the caller gone) is answered as such, not as invalid.
func (g *Gateway) validate(w http.ResponseWriter, r *http.Request, route *snapshot.Route, rest string, body *bodyReader) bool {
	if err := route.Validator.Validate(r, rest); err != nil {
		if body != nil {
			if ce := body.failure(); ce != nil {
				answerBodyFailure(w, ce)
				return false
			}
		}
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return false
	}
	return true
}

// cors adds the cross-origin headers an allowed origin gets, and answers a
// preflight itself (reporting true). Disallowed origins get no CORS headers, so
// the browser refuses the call.
func cors(w http.ResponseWriter, r *http.Request, c *snapshot.CompiledCORS) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !(c.AnyOrigin || c.Origins[origin]) {
		return false
	}
	h := w.Header()
	allow := origin
	if c.AnyOrigin && !c.AllowCredentials {
		allow = "*"
	}
	h.Set("Access-Control-Allow-Origin", allow)
	h.Add("Vary", "Origin")
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", c.Methods)
		h.Set("Access-Control-Allow-Headers", c.Headers)
		if c.MaxAge != "" {
			h.Set("Access-Control-Max-Age", c.MaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-ID, Deprecation")
	return false
}

// mock answers a PROTOTYPED API from the operation's example.
func (g *Gateway) mock(w http.ResponseWriter, r *http.Request, route *snapshot.Route, rest string) {
	op, ok := route.Match(r.Method, rest)
	if !ok {
		errNoOperation.write(w)
		return
	}
	if op == nil || op.Mock == nil {
		errNoMock.write(w)
		return
	}
	h := w.Header()
	if op.Mock.ContentType != "" {
		h.Set("Content-Type", op.Mock.ContentType)
	}
	h.Set("X-Portico-Mock", "true")
	isolateHeaders(h)
	status := op.Mock.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(op.Mock.Body)
}
