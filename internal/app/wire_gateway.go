package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"portico/internal/gateway"
	"portico/internal/gateway/loader"
	"portico/internal/gateway/ratelimit"
)

// wireGateway builds the data plane: the limiter (Redis when REDIS_URL is set),
// the gateway, and the loader that keeps its snapshot current. The first
// snapshot is loaded by startGateway's caller at start (loadGateway).
func (a *App) wireGateway(w *web) error {
	var limiter ratelimit.Limiter = ratelimit.NewLocal()
	if a.cfg.RedisURL != "" {
		opt, err := redis.ParseURL(a.cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("app: REDIS_URL: %w", err)
		}
		fallbacks := prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portico_ratelimit_redis_fallbacks_total",
			Help: "Rate-limit decisions taken locally because Redis did not answer.",
		})
		a.registry.MustRegister(fallbacks)
		limiter = ratelimit.NewRedis(redis.NewClient(opt), ratelimit.RedisOptions{
			Log: a.log, Nodes: a.cfg.GatewayNodes, OnFallback: fallbacks.Inc,
		})
	}
	a.gw = gateway.New(gateway.Options{Log: a.log, Meter: a.Meter(), Limiter: limiter, Registry: a.registry})
	a.loader = loader.New(loader.Sources{Store: a.store, Catalog: a.catalog, Access: a.access, OAuth: a.oauth},
		a.gw, loader.Options{Registry: a.registry, Log: a.log})
	a.readiness = append(a.readiness, a.gw.Ready)
	return nil
}

// loadGateway builds the first snapshot. A failure is logged, not fatal: /readyz
// stays 503 and the loader keeps trying.
func (a *App) loadGateway(ctx context.Context) {
	if err := a.loader.Load(ctx); err != nil {
		a.log.WarnContext(ctx, "first gateway snapshot failed; retrying in the background", "err", err)
	}
}

// startGateway keeps the snapshot current until ctx ends.
func (a *App) startGateway(ctx context.Context) {
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.loader.Run(ctx)
	}()
}

// Gateway exposes the data plane (tests, benchmarks).
func (a *App) Gateway() *gateway.Gateway { return a.gw }

// Loader exposes the snapshot loader (tests).
func (a *App) Loader() *loader.Loader { return a.loader }
