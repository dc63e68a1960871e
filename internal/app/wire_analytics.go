package app

import (
	"context"

	"portico/internal/analytics"
	"portico/internal/platform/metering"
)

// analyticsModule is the analytics service and the sink the gateway's
// metering events go to.
type analyticsModule struct {
	svc  *analytics.Service
	sink *analytics.Sink
}

// wireAnalytics adds /api/v1/analytics, /api/v1/alerts and the publisher's
// analytics page, and builds the sink (also on `portico gateway` nodes, which
// write their own events).
func (a *App) wireAnalytics(w *web) error {
	sink, err := analytics.NewSink(a.store, a.registry, a.log, analytics.SinkOptions{})
	if err != nil {
		return err
	}
	svc := analytics.NewService(a.store, a.accounts, a.log, analytics.Options{
		WebhookKey: a.keyring.Key("alert-webhooks"),
		SMTPURL:    a.cfg.SMTPURL,
		BaseURL:    a.cfg.BaseURL,
	})
	a.analytics = &analyticsModule{svc: svc, sink: sink}
	analytics.NewAPI(svc).Register(w.api, w.authenticate)
	analytics.NewPages(svc, w.accounts, w.r).Register(w.e, w.browser)
	return nil
}

// startAnalytics starts the sink's workers and, on `portico serve`, the alert
// evaluator and the retention janitor (those two stop with ctx). The sink's
// workers do not stop with ctx: closeAnalytics flushes and stops them once the
// HTTP server has drained, so the last requests' events are kept.
func (a *App) startAnalytics(ctx context.Context) {
	if a.analytics == nil {
		return
	}
	a.analytics.sink.Start()
	if a.gatewayOnly {
		return
	}
	a.bg.Add(2)
	go func() {
		defer a.bg.Done()
		a.analytics.svc.RunEvaluator(ctx)
	}()
	go func() {
		defer a.bg.Done()
		a.analytics.svc.RunJanitor(ctx)
	}()
}

// closeAnalytics writes every buffered metering event and stops the sink.
//
// NOTE for ServeListener's shutdown path: call it after srv.Shutdown has
// returned (no request can record an event any more) and before the store is
// closed, with a context bounded by what is left of the shutdown grace, e.g.
//
//	err := srv.Shutdown(sctx)
//	if cerr := a.closeAnalytics(sctx); cerr != nil { a.log.Warn("analytics: events lost at shutdown", "err", cerr) }
//	stopBG()
//
// Events recorded after it are dropped and counted, never blocked.
func (a *App) closeAnalytics(ctx context.Context) error {
	if a.analytics == nil {
		return nil
	}
	return a.analytics.sink.Close(ctx)
}

// Meter is where the gateway sends metering events: the analytics sink (a
// discarding meter before wiring).
func (a *App) Meter() metering.Meter {
	if a.analytics == nil {
		return metering.Discard{}
	}
	return a.analytics.sink
}

// Analytics exposes the analytics service (tests: alert evaluation, queries).
func (a *App) Analytics() *analytics.Service { return a.analytics.svc }

// AnalyticsSink exposes the sink (tests: Flush).
func (a *App) AnalyticsSink() *analytics.Sink { return a.analytics.sink }
