package loader

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/access"
	"portico/internal/catalog"
	"portico/internal/gateway"
	"portico/internal/gateway/snapshot"
	"portico/internal/oauth"
	"portico/internal/store"
)

// Sources are the modules the snapshot is read from.
type Sources struct {
	Store   *store.Store
	Catalog *catalog.Service
	Access  *access.Service
	OAuth   *oauth.Server
}

// Options tune the loader.
type Options struct {
	// Poll is how often the config version is read (default 250 ms; on Postgres
	// LISTEN/NOTIFY usually wakes the loader first).
	Poll time.Duration
	// Debounce gathers a burst of changes into one rebuild (default 50 ms).
	Debounce time.Duration
	// RetryAfter is the wait before retrying a failed rebuild (default 1 s).
	RetryAfter time.Duration
	Registry   prometheus.Registerer
	Log        *slog.Logger
}

// Loader feeds one gateway.
type Loader struct {
	src  Sources
	gw   *gateway.Gateway
	opts Options

	mu      sync.Mutex
	version int64 // of the snapshot in service

	loads    *prometheus.CounterVec
	versionG prometheus.Gauge
	loadedAt prometheus.Gauge
}

// New returns a loader for gw.
func New(src Sources, gw *gateway.Gateway, opts Options) *Loader {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	l := &Loader{src: src, gw: gw, opts: opts,
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_gateway_snapshot_loads_total",
			Help: "Snapshot rebuilds, by result (ok, error).",
		}, []string{"result"}),
		versionG: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portico_gateway_snapshot_version",
			Help: "Config version of the snapshot the gateway serves.",
		}),
		loadedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portico_gateway_snapshot_loaded_timestamp_seconds",
			Help: "When the snapshot in service was built (its age is time() minus this).",
		}),
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(l.loads, l.versionG, l.loadedAt)
	}
	return l
}

// Load rebuilds the snapshot now.
func (l *Loader) Load(ctx context.Context) error {
	var cfg snapshot.Config
	err := l.src.Store.ReadTx(ctx, func(ctx context.Context) error {
		var err error
		cfg, err = l.read(ctx)
		return err
	})
	if err == nil {
		err = l.gw.Load(cfg)
	}
	if err != nil {
		l.loads.WithLabelValues("error").Inc()
		return fmt.Errorf("loader: %w", err)
	}
	l.loads.WithLabelValues("ok").Inc()
	l.versionG.Set(float64(cfg.Version))
	l.loadedAt.SetToCurrentTime()
	l.mu.Lock()
	l.version = cfg.Version
	l.mu.Unlock()
	return nil
}

// Version is the config version of the snapshot in service (0 before the first).
func (l *Loader) Version() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version
}

// Run keeps the snapshot current until ctx ends.
func (l *Loader) Run(ctx context.Context) {
	changed := make(chan int64, 1)
	go l.src.Store.WatchConfigVersion(ctx, l.opts.Poll, func(v int64) {
		select {
		case changed <- v:
		default: // a rebuild is already due; it will read the newest state
		}
	})
	var retry <-chan time.Time
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case v := <-changed:
			if v <= l.Version() && !failing {
				continue
			}
			// Let a burst of writes settle into one rebuild.
			select {
			case <-ctx.Done():
				return
			case <-time.After(l.opts.Debounce):
			}
		case <-retry:
		}
		retry = nil
		if err := l.Load(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				l.opts.Log.WarnContext(ctx, "gateway snapshot rebuild failed; serving the last good one", "err", err)
			}
			failing = true
			retry = time.After(l.opts.RetryAfter)
			continue
		}
		if failing {
			l.opts.Log.InfoContext(ctx, "gateway snapshot rebuilt again", "version", l.Version())
		}
		failing = false
	}
}

// read builds the Config from the modules' views inside the read transaction.
func (l *Loader) read(ctx context.Context) (snapshot.Config, error) {
	var cfg snapshot.Config
	v, err := l.src.Store.ConfigVersion(ctx)
	if err != nil {
		return cfg, err
	}
	cfg.Version = v
	cat, err := l.src.Catalog.GatewayView(ctx)
	if err != nil {
		return cfg, err
	}
	acc, err := l.src.Access.GatewayView(ctx)
	if err != nil {
		return cfg, err
	}
	if l.src.OAuth != nil {
		ov, err := l.src.OAuth.GatewayView(ctx)
		if err != nil {
			return cfg, err
		}
		cfg.Issuer, cfg.Audience, cfg.RevokedTokens = ov.Issuer, ov.Audience, ov.RevokedJTIs
		for _, k := range ov.SigningKeys {
			cfg.SigningKeys = append(cfg.SigningKeys, snapshot.SigningKey{KID: k.KID, Algorithm: k.Algorithm, Key: k.Key})
		}
	}
	for _, ga := range cat.APIs {
		cfg.APIs = append(cfg.APIs, apiConfig(ga))
	}
	for _, t := range cat.Tiers {
		cfg.Tiers = append(cfg.Tiers, snapshot.Tier{OrgID: t.OrgID, Name: t.Name, Requests: t.Requests, Per: t.Per, Burst: t.Burst})
	}
	for _, a := range acc.Applications {
		app := snapshot.Application{ID: a.ID, OrgID: a.OrgID, ClientID: a.ClientID}
		if t, ok := access.AppTierByName(a.Tier); ok && t.Requests > 0 {
			app.Limit = &snapshot.Limit{Requests: t.Requests, Per: t.Per}
		}
		cfg.Applications = append(cfg.Applications, app)
	}
	for _, k := range acc.Keys {
		sk := snapshot.APIKey{Hash: k.KeyHash, ApplicationID: k.ApplicationID}
		if k.ExpiresAt != nil {
			sk.ExpiresAt = *k.ExpiresAt
		}
		cfg.Keys = append(cfg.Keys, sk)
	}
	for _, s := range acc.Subscriptions {
		cfg.Subscriptions = append(cfg.Subscriptions, snapshot.Subscription{ID: s.ID, ApplicationID: s.ApplicationID, APIID: s.APIID, Tier: s.Tier, Status: s.Status})
	}
	return cfg, nil
}

func apiConfig(ga catalog.GatewayAPI) snapshot.API {
	a := ga.API
	out := snapshot.API{ID: a.ID, OrgID: a.OrgID, Name: a.Name, Context: a.Context, Version: a.Version,
		Default: a.DefaultVersion, State: string(a.State), Auth: a.AuthList(), Balance: a.Balance, TimeoutMS: a.TimeoutMS, MaxRequestBytes: a.MaxRequestBytes,
		ValidateRequests: a.ValidateRequests, Spec: a.OpenAPI, Transforms: a.Transforms,
		TLSCert: a.BackendTLSCert, TLSKey: ga.TLSKey, TLSCA: a.BackendTLSCA}
	if a.LimitRequests > 0 {
		out.Limit = &snapshot.Limit{Requests: a.LimitRequests, Per: a.LimitPer}
	}
	if c := a.CORSPolicy(); c.Enabled {
		out.CORS = &snapshot.CORS{AllowOrigins: c.AllowOrigins, AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders,
			AllowCredentials: c.AllowCredentials, MaxAge: c.MaxAge}
	}
	for _, e := range a.EndpointList() {
		out.Backends = append(out.Backends, e.URL)
	}
	switch ga.Credential.Type {
	case "basic":
		out.BackendHeader = "Authorization"
		out.BackendHeaderValue = "Basic " + base64.StdEncoding.EncodeToString([]byte(ga.Credential.Name+":"+ga.Credential.Secret))
	case "header":
		out.BackendHeader, out.BackendHeaderValue = ga.Credential.Name, ga.Credential.Secret
	}
	for _, o := range ga.Operations {
		op := snapshot.Operation{Method: o.Method, Path: o.Path, Scopes: o.ScopeList(), NoAuth: !o.Auth}
		if o.LimitRequests > 0 {
			op.Limit = &snapshot.Limit{Requests: o.LimitRequests, Per: o.LimitPer}
		}
		if m, ok := ga.Mocks[o.Method+" "+o.Path]; ok {
			op.Mock = &snapshot.MockResponse{Status: m.Status, ContentType: m.ContentType, Body: m.Body}
		}
		out.Operations = append(out.Operations, op)
	}
	return out
}
