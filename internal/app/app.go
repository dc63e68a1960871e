package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/admin"
	"portico/internal/billing"
	"portico/internal/catalog"
	"portico/internal/config"
	"portico/internal/gateway"
	"portico/internal/gateway/loader"
	"portico/internal/heroku"
	"portico/internal/oauth"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/metrics"
	"portico/internal/platform/render"
	"portico/internal/platform/secrets"
	"portico/internal/publisher"
	"portico/internal/store"
	"portico/templates"
)

// Version is Portico's version, printed by `portico version`.
const Version = "0.1.0"

// ShutdownGrace is how long in-flight requests get to finish after SIGTERM;
// Heroku sends SIGKILL 30 s after SIGTERM.
const ShutdownGrace = 25 * time.Second

// secretSetting is where a generated PORTICO_SECRET is kept.
const secretSetting = "portico_secret"

// App is a running Portico: every module on one handler.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	store    *store.Store
	registry *prometheus.Registry
	echo     *echo.Echo
	accounts *account.Service
	keyring  *secrets.Keyring
	access   *access.Service
	oauth    *oauth.Server
	catalog  *catalog.Service
	heroku   *heroku.Service
	// billing is Stripe billing (wire_billing.go); nil on a gateway-only node.
	billing *billing.Service
	// analytics is the usage sink, queries and alerts (wire_analytics.go).
	analytics *analyticsModule
	// readiness checks beyond the database (the gateway's first snapshot).
	readiness []func() bool
	// gatewayOnly is `portico gateway`: the data plane and health endpoints only.
	gatewayOnly bool
	gw          *gateway.Gateway
	loader      *loader.Loader
	bg          sync.WaitGroup
}

// Options adjust New.
type Options struct {
	// Migrate applies pending migrations before anything else (`portico serve`).
	Migrate bool
	// GatewayOnly runs the data plane alone (`portico gateway`): no UI, no
	// management API, no migrations and no first-start writes; the database must
	// have been set up by `portico serve` or `portico migrate`.
	GatewayOnly bool
}

// New opens the database, runs migrations when asked, resolves the secret,
// creates the first admin if there is none, and wires every module.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*App, error) {
	st, err := store.Open(ctx, cfg.Database, log)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, store: st, registry: metrics.NewRegistry()}
	if err := a.init(ctx, opts); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) init(ctx context.Context, opts Options) error {
	if opts.Migrate {
		if _, err := a.store.Migrate(ctx); err != nil {
			return err
		}
	}
	a.gatewayOnly = opts.GatewayOnly
	secret := a.cfg.Secret.Reveal()
	switch {
	case secret != "":
	case opts.GatewayOnly:
		var ok bool
		var err error
		secret, ok, err = a.store.Setting(ctx, secretSetting)
		if err != nil {
			return fmt.Errorf("app: PORTICO_SECRET: %w", err)
		}
		if !ok {
			return errors.New("app: PORTICO_SECRET is not set and no generated secret is in the database: start `portico serve` once first, or set PORTICO_SECRET on every node")
		}
	default:
		var err error
		secret, err = a.store.EnsureSetting(ctx, secretSetting, secrets.Generate)
		if err != nil {
			return fmt.Errorf("app: PORTICO_SECRET: %w", err)
		}
	}
	kr, err := secrets.NewKeyring([]byte(secret))
	if err != nil {
		return fmt.Errorf("app: PORTICO_SECRET: %w", err)
	}
	a.keyring = kr

	a.accounts = account.NewService(a.store, a.log)
	if opts.GatewayOnly {
		if err := a.routes(); err != nil {
			return err
		}
		a.loadGateway(ctx)
		return nil
	}
	if _, err := a.accounts.EnsureDefaultOrg(ctx); err != nil {
		return fmt.Errorf("app: default organisation: %w", err)
	}
	boot, err := a.accounts.Bootstrap(ctx, a.cfg.Admin.Email, a.cfg.Admin.Password)
	if err != nil {
		return fmt.Errorf("app: first admin: %w", err)
	}
	if boot.Created {
		if boot.GeneratedPassword != "" {
			// Printed once, on purpose: the operator has no other way to learn it.
			a.log.Warn("first admin created with a generated password; change it at /portal/account after logging in",
				"email", boot.Email, "password", boot.GeneratedPassword)
		} else {
			a.log.Info("first admin created", "email", boot.Email)
		}
	}
	if err := a.routes(); err != nil {
		return err
	}
	a.loadGateway(ctx)
	return nil
}

// web is what every module's wiring needs to add its routes.
type web struct {
	e        *echo.Echo
	r        *render.Renderer
	csrf     *httpx.CSRF
	accounts *account.Web
	// browser is the middleware of every HTML area: body limit, CSRF, session.
	browser []echo.MiddlewareFunc
	// api is the /api/v1 group; authenticate is its auth middleware.
	api          *echo.Group
	authenticate echo.MiddlewareFunc
}

func (a *App) routes() error {
	r, err := render.New(templates.FS, nil)
	if err != nil {
		return err
	}
	csrf := httpx.NewCSRF(a.keyring.Key("csrf"))
	e := httpx.New(httpx.Options{Logger: a.log, Metrics: metrics.NewHTTP(a.registry), ErrorPage: errorPage(r)})
	a.echo = e

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", a.readyz)
	e.GET("/metrics", echo.WrapHandler(metrics.Handler(a.registry)))
	e.GET("/static/*", staticHandler())

	webAccounts := account.NewWeb(a.accounts, r)
	apiAccounts := account.NewAPI(a.accounts, csrf)
	w := &web{
		e: e, r: r, csrf: csrf, accounts: webAccounts,
		browser:      []echo.MiddlewareFunc{middleware.BodyLimit("1M"), csrf.Middleware(), webAccounts.LoadSession()},
		api:          e.Group("/api/v1", middleware.BodyLimit("1M")),
		authenticate: apiAccounts.Authenticate(),
	}
	if _, err := managementDoc(); err != nil {
		return err
	}
	w.api.GET("/openapi.json", openAPIHandler)
	apiAccounts.Register(w.api)
	a.wireFoundationPages(w)
	// Module wiring: each module adds its routes from its own wire_<module>.go,
	// called from one line here. The gateway comes last: it reads the others.
	if err := a.wireCatalog(w); err != nil {
		return err
	}
	if err := a.wireOAuth(w); err != nil { // applications need the catalog for subscriptions
		return err
	}
	if err := a.wireHeroku(w); err != nil {
		return err
	}
	if err := a.wireAnalytics(w); err != nil {
		return err
	}
	if err := a.wireBilling(w); err != nil {
		return err
	}
	if err := a.wirePortal(w); err != nil {
		return err
	}
	if err := a.wireGateway(w); err != nil {
		return err
	}
	return nil
}

// wireFoundationPages adds the publisher landing page and admin user
// management (the portal and log-in pages are wired in wire_portal.go).
func (a *App) wireFoundationPages(w *web) {
	publisher.NewWeb(w.accounts, w.r).Register(w.e.Group("/publisher", w.browser...))
	admin.NewWeb(a.accounts, w.accounts, w.r).Register(w.e.Group("/admin", w.browser...))
}

// ServeHTTP dispatches on the first path segment: reserved ones (CONTRACT §3,
// catalog.IsReserved) go to Echo, everything else to the gateway. A gateway-only
// process (`portico gateway`) keeps only the health endpoints for itself.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	seg := firstSegment(r.URL.Path)
	if a.gatewayOnly {
		if seg == "healthz" || seg == "readyz" || seg == "metrics" {
			a.echo.ServeHTTP(w, r)
			return
		}
	} else if seg == "" || seg == "favicon.ico" || catalog.IsReserved(seg) {
		a.echo.ServeHTTP(w, r)
		return
	}
	a.gw.ServeHTTP(w, r)
}

func firstSegment(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

func (a *App) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.WarnContext(ctx, "not ready: database unreachable", "err", err)
		return apperr.Unavailable("database_unavailable", "The database does not answer.")
	}
	for _, ready := range a.readiness {
		if !ready() {
			return apperr.Unavailable("gateway_not_loaded", "The gateway has not loaded its configuration yet.")
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// Store exposes the store (tests, the migrate command).
func (a *App) Store() *store.Store { return a.store }

// Accounts exposes the account service (tests).
func (a *App) Accounts() *account.Service { return a.accounts }

// StartBackground runs the janitors until ctx ends; Close waits for them.
func (a *App) StartBackground(ctx context.Context) {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.accounts.RunJanitor(ctx, 10*time.Minute)
	}()
	a.startOAuthJanitor(ctx)
	a.startGateway(ctx)
	a.startHerokuWorker(ctx)
	a.startAnalytics(ctx)
	a.startBilling(ctx)
}

// Serve listens on cfg.Port until ctx ends, then drains in-flight requests for up
// to ShutdownGrace. ready, when not nil, receives the bound address.
func (a *App) Serve(ctx context.Context, ready chan<- string) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(a.cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", a.cfg.Port, err)
	}
	return a.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on a listener the caller opened (tests use port 0).
func (a *App) ServeListener(ctx context.Context, ln net.Listener, ready chan<- string) error {
	srv := &http.Server{
		Handler:           limitRequests(a, defaultServerLimits()), // see limits.go
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	bgCtx, stopBG := context.WithCancel(ctx)
	defer stopBG()
	a.StartBackground(bgCtx)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	mode := "serve"
	if a.gatewayOnly {
		mode = "gateway"
	}
	a.log.Info("Portico is listening", "url", a.cfg.BaseURL, "addr", ln.Addr().String(), "mode", mode, "database", a.store.Dialect(), "version", Version)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining in-flight requests", "grace", ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	// No request can record an event any more: write what the sink holds.
	if cerr := a.closeAnalytics(sctx); cerr != nil {
		a.log.Warn("analytics: events lost at shutdown", "err", cerr)
	}
	stopBG()
	a.bg.Wait()
	a.gw.Close()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: requests still running after %s", ShutdownGrace)
	}
	return err
}

// Close releases the database.
func (a *App) Close() error { return a.store.Close() }

// Routes lists every route Echo serves (the OpenAPI coverage test reads it).
func (a *App) Routes() []*echo.Route { return a.echo.Routes() }
