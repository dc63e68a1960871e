package billing

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/store/outbox"
)

// reconcileEvery is how often the worker looks for paid subscriptions that
// were removed in Portico and cancels them in Stripe.
const reconcileEvery = 30 * time.Second

// fastPoll is how often the worker looks for a job it was told about: the
// job becomes visible only when the subscribe transaction commits.
const (
	fastPoll    = 50 * time.Millisecond
	fastPollFor = 3 * time.Second
)

// enqueue records a job inside the caller's transaction and wakes the worker.
func (s *Service) enqueue(ctx context.Context, kind, ref string, payload any, now time.Time) error {
	b := []byte("{}")
	if payload != nil {
		var err error
		if b, err = json.Marshal(payload); err != nil {
			return err
		}
	}
	if err := s.repo.createJob(ctx, &job{Row: outbox.NewRow(account.NewID(), kind, now), Ref: ref, Payload: string(b)}); err != nil {
		return err
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return nil
}

// Run works the outbox until ctx ends: every PollEvery, quickly for a while
// after a job is enqueued, and looks for removed subscriptions every 30 s.
// Jobs are claimed with a lease, so several nodes may run workers.
func (s *Service) Run(ctx context.Context) {
	if !s.Enabled() {
		return
	}
	var fastUntil, lastReconcile time.Time
	for {
		s.RunDue(ctx)
		if now := time.Now(); now.Sub(lastReconcile) >= reconcileEvery {
			if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "billing: reconciling subscriptions failed", "err", err)
			}
			lastReconcile = now
		}
		wait := s.opts.PollEvery
		if time.Now().Before(fastUntil) {
			wait = fastPoll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.kick:
			t.Stop()
			fastUntil = time.Now().Add(fastPollFor)
		}
	}
}

// RunDue runs the jobs due now, one after another.
func (s *Service) RunDue(ctx context.Context) { s.jobs.RunDue(ctx) }

// newWorker works billing_outbox: a job's Stripe calls, retries included,
// stay well below its two-minute lease; it is given up after MaxAttempts.
func (s *Service) newWorker() *outbox.Worker[job, *job] {
	return &outbox.Worker[job, *job]{Store: s.st, Log: s.log, Name: "billing", Lease: 2 * time.Minute, Now: s.now,
		RetryBase: s.opts.RetryBase, RetryMax: s.opts.RetryMax, Step: s.step,
		GiveUp: func(j *job, _ time.Time) bool { return j.Attempts >= s.opts.MaxAttempts },
		Attrs:  func(j *job) []any { return []any{"subscription_id", j.Ref} }}
}

// permanent marks a failure retrying cannot fix.
func permanent(err error) error { return outbox.Permanent{Err: err} }

// step does what is left of a job. Every part checks what is already done
// and every Stripe write carries a key derived from the subscription, so a
// retry resumes where the last attempt stopped and never makes a second
// Stripe object.
func (s *Service) step(ctx context.Context, j *job) error {
	b, err := s.repo.subscription(ctx, j.Ref)
	if errors.Is(err, errNoSubscription) {
		return nil // its organisation is gone
	}
	if err != nil {
		return err
	}
	switch j.Kind {
	case jobStart:
		return s.start(ctx, b)
	case jobCheckout:
		var p struct {
			SessionID string `json:"session_id"`
		}
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			return permanent(err)
		}
		return s.completeCheckout(ctx, b, p.SessionID)
	case jobCancel:
		return s.cancel(ctx, b)
	}
	return permanent(errors.New("billing: unknown job kind " + j.Kind))
}

// start sets up the Stripe side of a new paid subscription.
func (s *Service) start(ctx context.Context, b Subscription) error {
	if b.State != StateStarting {
		return nil
	}
	statuses, err := s.access.SubscriptionStatuses(ctx, []string{b.SubscriptionID})
	if err != nil {
		return err
	}
	if _, ok := statuses[b.SubscriptionID]; !ok { // unsubscribed before Stripe heard of it
		return s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"state": StateCanceled, "updated_at": s.now()})
	}
	if b.Held { // subscriptions started before holds were taken at subscribe time
		if _, err := s.access.HoldForPayment(ctx, b.SubscriptionID); err != nil {
			return err
		}
	}
	cus, err := s.ensureCustomer(ctx, b.OrgID)
	if err != nil {
		return err
	}
	fee, err := s.ensurePrices(ctx, &b)
	if err != nil {
		return err
	}
	var c *stripe.Customer
	err = s.stripe.call(ctx, "customer read", func() (err error) {
		c, err = s.stripe.api.Customers.Get(cus.CustomerID, &stripe.CustomerParams{Params: params(ctx, "")})
		return err
	})
	if err != nil {
		return err
	}
	if c.InvoiceSettings != nil && c.InvoiceSettings.DefaultPaymentMethod != nil && c.InvoiceSettings.DefaultPaymentMethod.ID != "" {
		return s.subscribe(ctx, b, cus, fee, c.InvoiceSettings.DefaultPaymentMethod.ID)
	}
	return s.startCheckout(ctx, b, cus)
}

// ensureCustomer returns the organisation's Stripe customer, made once.
func (s *Service) ensureCustomer(ctx context.Context, orgID string) (customer, error) {
	c, err := s.repo.customer(ctx, orgID)
	if err == nil || !errors.Is(err, errNoCustomer) {
		return c, err
	}
	org, err := s.accounts.Org(ctx, orgID)
	if err != nil {
		return customer{}, err
	}
	var sc *stripe.Customer
	err = s.stripe.call(ctx, "customer create", func() (err error) {
		p := &stripe.CustomerParams{Params: params(ctx, "portico-customer-"+orgID), Name: stripe.String(org.Name),
			Description: stripe.String("Portico organisation " + org.Slug)}
		p.AddMetadata("portico_org_id", orgID)
		sc, err = s.stripe.api.Customers.New(p)
		return err
	})
	if err != nil {
		return customer{}, err
	}
	return s.repo.createCustomer(ctx, customer{OrgID: orgID, CustomerID: sc.ID, CreatedAt: s.now()})
}

// ensurePrices makes the tier's product and fee price, and the
// subscription's meter and per-call price, as far as they are missing. It
// returns the fee price ("" when the tier has no monthly fee).
//
// The per-call price hangs on a meter of the subscription's own: Stripe sums a
// meter's events per customer, so two subscriptions of one organisation on a
// shared meter would each be billed both's calls.
func (s *Service) ensurePrices(ctx context.Context, b *Subscription) (string, error) {
	tp, err := s.repo.tierPrice(ctx, b.TierID)
	if err != nil {
		return "", err
	}
	if tp.ProductID == "" {
		name := "Portico tier"
		if t, err := s.catalog.Tier(ctx, account.Principal{OrgID: tp.OrgID}, tp.TierID); err == nil {
			name = "Portico tier " + t.Name
		}
		var p *stripe.Product
		err := s.stripe.call(ctx, "product create", func() (err error) {
			pp := &stripe.ProductParams{Params: params(ctx, "portico-product-"+tp.TierID), Name: stripe.String(name)}
			pp.AddMetadata("portico_tier_id", tp.TierID)
			pp.AddMetadata("portico_org_id", tp.OrgID)
			p, err = s.stripe.api.Products.New(pp)
			return err
		})
		if err != nil {
			return "", err
		}
		tp.ProductID = p.ID
		if err := s.repo.updateTierPrice(ctx, tp.TierID, map[string]any{"product_id": p.ID, "updated_at": s.now()}); err != nil {
			return "", err
		}
	}
	fee := ""
	if b.FeeCents > 0 {
		if tp.FeePriceID != "" && tp.FeeCents == b.FeeCents {
			fee = tp.FeePriceID
		} else {
			var pr *stripe.Price
			err := s.stripe.call(ctx, "fee price create", func() (err error) {
				pp := &stripe.PriceParams{Params: params(ctx, "portico-fee-"+tp.TierID+"-"+strconv.FormatInt(b.FeeCents, 10)),
					Product: stripe.String(tp.ProductID), Currency: stripe.String(s.opts.Currency), UnitAmount: stripe.Int64(b.FeeCents),
					Recurring: &stripe.PriceRecurringParams{Interval: stripe.String(string(stripe.PriceRecurringIntervalMonth))}}
				pp.AddMetadata("portico_tier_id", tp.TierID)
				pr, err = s.stripe.api.Prices.New(pp)
				return err
			})
			if err != nil {
				return "", err
			}
			fee = pr.ID
			if err := s.repo.updateTierPrice(ctx, tp.TierID, map[string]any{"fee_price_id": pr.ID, "fee_cents": b.FeeCents, "updated_at": s.now()}); err != nil {
				return "", err
			}
		}
	}
	if !b.Metered() {
		return fee, nil
	}
	if b.MeterID == "" {
		name := meterEventName(b.SubscriptionID)
		var m *stripe.BillingMeter
		err := s.stripe.call(ctx, "meter create", func() (err error) {
			m, err = s.stripe.api.BillingMeters.New(&stripe.BillingMeterParams{Params: params(ctx, "portico-meter-"+b.SubscriptionID),
				DisplayName:        stripe.String("Portico calls, subscription " + b.SubscriptionID),
				EventName:          stripe.String(name),
				DefaultAggregation: &stripe.BillingMeterDefaultAggregationParams{Formula: stripe.String("sum")},
				CustomerMapping:    &stripe.BillingMeterCustomerMappingParams{EventPayloadKey: stripe.String("stripe_customer_id"), Type: stripe.String("by_id")},
				ValueSettings:      &stripe.BillingMeterValueSettingsParams{EventPayloadKey: stripe.String("value")},
			})
			return err
		})
		if err != nil {
			return "", err
		}
		b.MeterID, b.MeterEventName = m.ID, name
		if err := s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"meter_id": m.ID, "meter_event_name": name, "updated_at": s.now()}); err != nil {
			return "", err
		}
	}
	if b.MeteredPriceID == "" {
		var pr *stripe.Price
		err := s.stripe.call(ctx, "per-call price create", func() (err error) {
			pp := &stripe.PriceParams{Params: params(ctx, "portico-per-call-"+b.SubscriptionID),
				Product: stripe.String(tp.ProductID), Currency: stripe.String(s.opts.Currency), UnitAmount: stripe.Int64(b.PerCallCents),
				Recurring: &stripe.PriceRecurringParams{Interval: stripe.String(string(stripe.PriceRecurringIntervalMonth)),
					UsageType: stripe.String(string(stripe.PriceRecurringUsageTypeMetered)), Meter: stripe.String(b.MeterID)}}
			pp.AddMetadata("portico_subscription_id", b.SubscriptionID)
			pr, err = s.stripe.api.Prices.New(pp)
			return err
		})
		if err != nil {
			return "", err
		}
		b.MeteredPriceID = pr.ID
		if err := s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"metered_price_id": pr.ID, "updated_at": s.now()}); err != nil {
			return "", err
		}
	}
	return fee, nil
}

// meterEventName is the meter event name of a subscription's calls.
func meterEventName(subscriptionID string) string {
	return "portico_calls_" + strings.ReplaceAll(subscriptionID, "-", "")
}

// startCheckout asks for a payment method through Stripe Checkout in setup
// mode; checkout.session.completed continues with completeCheckout.
func (s *Service) startCheckout(ctx context.Context, b Subscription, cus customer) error {
	var cs *stripe.CheckoutSession
	err := s.stripe.call(ctx, "checkout session create", func() (err error) {
		p := &stripe.CheckoutSessionParams{Params: params(ctx, "portico-checkout-"+b.SubscriptionID),
			Mode: stripe.String(string(stripe.CheckoutSessionModeSetup)), Customer: stripe.String(cus.CustomerID),
			Currency:   stripe.String(s.opts.Currency),
			SuccessURL: stripe.String(s.opts.BaseURL + "/portal?checkout=done"),
			CancelURL:  stripe.String(s.opts.BaseURL + "/portal?checkout=cancelled"),
		}
		p.AddMetadata("portico_subscription_id", b.SubscriptionID)
		cs, err = s.stripe.api.CheckoutSessions.New(p)
		return err
	})
	if err != nil {
		return err
	}
	return s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"state": StateCheckout,
		"checkout_session_id": cs.ID, "checkout_url": cs.URL, "updated_at": s.now()})
}

// completeCheckout makes the payment method of a completed setup session the
// customer's default, then the Stripe subscription.
func (s *Service) completeCheckout(ctx context.Context, b Subscription, sessionID string) error {
	if b.State != StateCheckout {
		return nil
	}
	cus, err := s.ensureCustomer(ctx, b.OrgID)
	if err != nil {
		return err
	}
	var cs *stripe.CheckoutSession
	err = s.stripe.call(ctx, "checkout session read", func() (err error) {
		p := &stripe.CheckoutSessionParams{Params: params(ctx, "")}
		p.AddExpand("setup_intent")
		cs, err = s.stripe.api.CheckoutSessions.Get(sessionID, p)
		return err
	})
	if err != nil {
		return err
	}
	pm := ""
	if cs.SetupIntent != nil && cs.SetupIntent.PaymentMethod != nil {
		pm = cs.SetupIntent.PaymentMethod.ID
	}
	if pm != "" {
		err = s.stripe.call(ctx, "customer default payment method", func() error {
			_, err := s.stripe.api.Customers.Update(cus.CustomerID, &stripe.CustomerParams{Params: params(ctx, "portico-default-pm-"+b.SubscriptionID),
				InvoiceSettings: &stripe.CustomerInvoiceSettingsParams{DefaultPaymentMethod: stripe.String(pm)}})
			return err
		})
		if err != nil {
			return err
		}
	} else {
		// Without one Stripe charges the customer's default, or leaves the
		// subscription incomplete: it stays held until Stripe says it is active.
		s.log.WarnContext(ctx, "billing: completed Checkout session without a payment method", "subscription_id", b.SubscriptionID)
	}
	fee, err := s.ensurePrices(ctx, &b)
	if err != nil {
		return err
	}
	return s.subscribe(ctx, b, cus, fee, pm)
}

// subscribe makes the Stripe subscription; if Stripe says it is active at
// once, the Portico subscription is released.
func (s *Service) subscribe(ctx context.Context, b Subscription, cus customer, feePrice, pm string) error {
	var items []*stripe.SubscriptionItemsParams
	if feePrice != "" {
		items = append(items, &stripe.SubscriptionItemsParams{Price: stripe.String(feePrice)})
	}
	if b.MeteredPriceID != "" {
		items = append(items, &stripe.SubscriptionItemsParams{Price: stripe.String(b.MeteredPriceID)})
	}
	var ss *stripe.Subscription
	err := s.stripe.call(ctx, "subscription create", func() (err error) {
		p := &stripe.SubscriptionParams{Params: params(ctx, "portico-subscription-"+b.SubscriptionID),
			Customer: stripe.String(cus.CustomerID), Items: items}
		if pm != "" {
			p.DefaultPaymentMethod = stripe.String(pm)
		}
		p.AddMetadata("portico_subscription_id", b.SubscriptionID)
		p.AddMetadata("portico_org_id", b.OrgID)
		ss, err = s.stripe.api.Subscriptions.New(p)
		return err
	})
	if err != nil {
		return err
	}
	if err := s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"state": StateActive,
		"stripe_subscription_id": ss.ID, "stripe_status": string(ss.Status), "updated_at": s.now()}); err != nil {
		return err
	}
	b.StripeSubscriptionID, b.StripeStatus, b.State = ss.ID, string(ss.Status), StateActive
	return s.releaseIfPaid(ctx, b)
}

// paid reports whether a Stripe subscription status lets calls through.
func paid(stripeStatus string) bool {
	return stripeStatus == string(stripe.SubscriptionStatusActive) || stripeStatus == string(stripe.SubscriptionStatusTrialing)
}

// releaseIfPaid lets a held subscription through once Stripe says its
// subscription is active.
func (s *Service) releaseIfPaid(ctx context.Context, b Subscription) error {
	if !b.Held || !paid(b.StripeStatus) {
		return nil
	}
	return s.st.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.access.ReleasePaymentHold(ctx, b.SubscriptionID); err != nil {
			return err
		}
		return s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"held": false, "updated_at": s.now()})
	})
}

// cancel asks Stripe to end the subscription at the end of the period
// already paid for.
func (s *Service) cancel(ctx context.Context, b Subscription) error {
	if b.State == StateCanceled {
		return nil
	}
	if b.StripeSubscriptionID == "" {
		return s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"state": StateCanceled, "updated_at": s.now()})
	}
	err := s.stripe.call(ctx, "subscription cancel at period end", func() error {
		_, err := s.stripe.api.Subscriptions.Update(b.StripeSubscriptionID, &stripe.SubscriptionParams{
			Params: params(ctx, "portico-cancel-"+b.SubscriptionID), CancelAtPeriodEnd: stripe.Bool(true)})
		return err
	})
	if err != nil {
		return err
	}
	return s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"state": StateCanceling, "updated_at": s.now()})
}

// Reconcile cancels in Stripe the paid subscriptions removed in Portico, or
// rejected by the publisher (access does neither through its payment gate).
func (s *Service) Reconcile(ctx context.Context) error {
	open, err := s.repo.subscriptionsIn(ctx, "", StateStarting, StateCheckout, StateActive)
	if err != nil || len(open) == 0 {
		return err
	}
	ids := make([]string, len(open))
	for i, b := range open {
		ids[i] = b.SubscriptionID
	}
	statuses, err := s.access.SubscriptionStatuses(ctx, ids)
	if err != nil {
		return err
	}
	for _, b := range open {
		// Gone, or refused by the publisher: nothing to pay for. A starting one
		// notices on its own.
		if st, ok := statuses[b.SubscriptionID]; (ok && st != access.StatusRejected) || b.State == StateStarting {
			continue
		}
		err := s.st.InTx(ctx, func(ctx context.Context) error {
			now := s.now()
			if err := s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"state": StateCanceling, "updated_at": now}); err != nil {
				return err
			}
			return s.enqueue(ctx, jobCancel, b.SubscriptionID, nil, now)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
