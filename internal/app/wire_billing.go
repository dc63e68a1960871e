package app

import (
	"context"
	"time"

	"portico/internal/billing"
	"portico/internal/store"
)

// wireBilling adds GET /api/v1/invoices and GET /api/v1/billing/subscriptions/{id}
// always (empty, or 404, without Stripe), and, when STRIPE_SECRET_KEY is set,
// the Stripe webhook at POST /billing/stripe/webhook and the payment gate that
// lets paid tiers be subscribed. Without the key access has no gate, so a paid
// tier answers 409 billing_unavailable.
func (a *App) wireBilling(w *web) error {
	if a.gatewayOnly {
		return nil
	}
	svc := billing.NewService(a.store, a.accounts, a.catalog, a.access, a.log, billing.Options{
		SecretKey:     a.cfg.Stripe.SecretKey.Reveal(),
		WebhookSecret: a.cfg.Stripe.WebhookSecret.Reveal(),
		APIBase:       a.cfg.Stripe.APIBase,
		BaseURL:       a.cfg.BaseURL,
		Usage:         rollupUsage{a.store},
		Exempt:        herokuOrg(a.store),
	})
	a.billing = svc
	api := billing.NewAPI(svc)
	api.Register(w.api, w.authenticate)
	if !svc.Enabled() {
		return nil
	}
	a.access.SetPaymentGate(svc)
	api.RegisterWebhook(w.e)
	if a.cfg.Stripe.WebhookSecret == "" {
		a.log.Warn("billing: STRIPE_WEBHOOK_SECRET is not set, so every Stripe webhook is refused; payments will not activate or suspend subscriptions")
	}
	return nil
}

// startBilling runs the outbox worker and the hourly usage reporter until ctx
// ends.
func (a *App) startBilling(ctx context.Context) {
	if a.billing == nil || !a.billing.Enabled() {
		return
	}
	a.bg.Add(2)
	go func() {
		defer a.bg.Done()
		a.billing.Run(ctx)
	}()
	go func() {
		defer a.bg.Done()
		a.billing.RunReporter(ctx)
	}()
}

// Billing exposes the billing service (tests); nil on a gateway-only node.
func (a *App) Billing() *billing.Service { return a.billing }

// rollupUsage counts a subscription's billable calls from the analytics
// rollups.
//
// NOTE(billing → analytics): a direct, read-only query on analytics' table,
// kept here until internal/analytics exposes a per-subscription count; replace
// it with that method then. Rollups are keyed by application and API (one
// subscription); billable calls are those the rate limiter counted: not the
// ones refused before it (401, 403: unsubscribed, pending, suspended, scope)
// nor those it refused (429).
type rollupUsage struct{ st *store.Store }

func (u rollupUsage) Calls(ctx context.Context, use billing.Usage, from, to time.Time) (int64, error) {
	var n int64
	err := u.st.DB(ctx).Raw(`SELECT COALESCE(SUM(count), 0) FROM analytics_rollups
		WHERE application_id = ? AND api_id = ? AND minute >= ? AND minute < ? AND status NOT IN (401, 403, 429)`,
		use.ApplicationID, use.APIID, from.Unix(), to.Unix()).Scan(&n).Error
	return n, err
}

// herokuOrg reports whether the Heroku add-on made the organisation: Heroku
// bills those, Stripe never hears of them.
//
// NOTE(billing → heroku): a direct, read-only query on the add-on's table,
// kept here until internal/heroku exposes such a method; replace it then.
func herokuOrg(st *store.Store) billing.Exemption {
	return func(ctx context.Context, orgID string) (bool, error) {
		var n int64
		err := st.DB(ctx).Raw(`SELECT COUNT(*) FROM heroku_resources WHERE org_id = ?`, orgID).Scan(&n).Error
		return n > 0, err
	}
}
