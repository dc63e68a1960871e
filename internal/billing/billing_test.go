package billing_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"portico/internal/access"
	"portico/internal/app/apptest"
	"portico/internal/billing"
	"portico/internal/billing/billingtest"
)

// TestPaidSubscriptionThroughStripe follows a paid subscription from the
// subscribe call to an active Stripe subscription and back out, checking the
// requests stripe-mock validated against Stripe's OpenAPI description.
func TestPaidSubscriptionThroughStripe(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s, base)
		ctx := context.Background()
		_, mark := w.rec.since(0)

		sub := w.subscribe(t, "Pro")
		if sub.Status != access.StatusPending || w.status(t, sub.ID) != access.StatusPending {
			t.Fatalf("a paid subscription answered %s (stored %s) before any payment, want PENDING", sub.Status, w.status(t, sub.ID))
		}
		if reqs, _ := w.rec.since(mark); len(reqs) != 0 {
			t.Fatalf("Stripe was called inside the subscribe transaction: %v", paths(reqs))
		}
		if b := w.billingSub(t, sub.ID); b.State != billing.StateStarting || !b.Held || b.FeeCents != 2500 || b.PerCallCents != 1 {
			t.Fatalf("billing subscription: %+v", b)
		}

		w.svc.RunDue(ctx)
		reqs, mark := w.rec.since(mark)
		want := []string{"POST /v1/customers", "POST /v1/products", "POST /v1/prices", "POST /v1/billing/meters", "POST /v1/prices",
			"GET /v1/customers/" + w.customerID(t), "POST /v1/checkout/sessions"}
		if !slices.Equal(paths(reqs), want) {
			t.Fatalf("start: calls %v, want %v", paths(reqs), want)
		}
		for _, r := range reqs {
			if r.Method == "POST" && !strings.HasPrefix(r.IdempotencyKey, "portico-") {
				t.Errorf("%s %s without our idempotency key: %q", r.Method, r.Path, r.IdempotencyKey)
			}
		}
		if f := reqs[0].Form; f.Get("metadata[portico_org_id]") != w.devP.OrgID || f.Get("name") == "" {
			t.Errorf("customer: %v", f)
		}
		if f := reqs[2].Form; f.Get("unit_amount") != "2500" || f.Get("recurring[interval]") != "month" || f.Get("currency") != "usd" {
			t.Errorf("fee price: %v", f)
		}
		if f := reqs[3].Form; f.Get("event_name") != "portico_calls_"+strings.ReplaceAll(sub.ID, "-", "") ||
			f.Get("default_aggregation[formula]") != "sum" || f.Get("customer_mapping[event_payload_key]") != "stripe_customer_id" {
			t.Errorf("meter: %v", f)
		}
		if f := reqs[4].Form; f.Get("unit_amount") != "1" || f.Get("recurring[usage_type]") != "metered" || f.Get("recurring[meter]") == "" {
			t.Errorf("per-call price: %v", f)
		}
		if f := reqs[6].Form; f.Get("mode") != "setup" || f.Get("metadata[portico_subscription_id]") != sub.ID ||
			!strings.HasPrefix(f.Get("success_url"), "http://portico.test/") {
			t.Errorf("checkout session: %v", f)
		}
		b := w.billingSub(t, sub.ID)
		if b.State != billing.StateCheckout || b.CheckoutURL == "" {
			t.Fatalf("after start: %+v", b)
		}
		if st := w.status(t, sub.ID); st != access.StatusPending {
			t.Fatalf("a paid subscription waiting for payment is %s, want PENDING", st)
		}

		// The payment method arrives through Checkout.
		out, err := w.webhook(t, "evt_checkout", "checkout.session.completed", map[string]any{
			"id": b.CheckoutSessionID, "object": "checkout.session", "mode": "setup",
			"metadata": map[string]string{"portico_subscription_id": sub.ID}})
		if err != nil || out != billing.Handled {
			t.Fatalf("checkout.session.completed: %v %v", out, err)
		}
		w.svc.RunDue(ctx)
		reqs, mark = w.rec.since(mark)
		want = []string{"GET /v1/checkout/sessions/" + b.CheckoutSessionID, "POST /v1/subscriptions"}
		if !slices.Equal(paths(reqs), want) {
			t.Fatalf("checkout: calls %v, want %v", paths(reqs), want)
		}
		if f := reqs[1].Form; f.Get("customer") != w.customerID(t) || f.Get("items[0][price]") == "" || f.Get("items[1][price]") == "" ||
			f.Get("metadata[portico_subscription_id]") != sub.ID {
			t.Errorf("subscription: %v", f)
		}
		if b := w.billingSub(t, sub.ID); b.State != billing.StateActive || b.StripeStatus != "active" || b.Held {
			t.Fatalf("after checkout: %+v", b)
		}
		if st := w.status(t, sub.ID); st != access.StatusActive {
			t.Fatalf("Stripe says active, the subscription is %s", st)
		}

		// Running the worker again calls Stripe no more.
		w.svc.RunDue(ctx)
		if reqs, _ := w.rec.since(mark); len(reqs) != 0 {
			t.Fatalf("idle worker called Stripe: %v", paths(reqs))
		}

		// A second paid subscription of the organisation reuses the customer
		// and the tier's product and fee price.
		other := must(t, s, "POST", "/api/v1/applications", w.dev, map[string]string{"name": "second"}, 201)
		var app2 struct{ ID string }
		other.JSON(t, &app2)
		sub2, err := s.App.Access().Subscribe(ctx, w.devP, access.NewSubscription{ApplicationID: app2.ID, APIID: w.apiID, Tier: "Pro"})
		if err != nil {
			t.Fatal(err)
		}
		w.svc.RunDue(ctx)
		reqs, mark = w.rec.since(mark)
		want = []string{"POST /v1/billing/meters", "POST /v1/prices", "GET /v1/customers/" + w.customerID(t), "POST /v1/checkout/sessions"}
		if !slices.Equal(paths(reqs), want) {
			t.Fatalf("second subscription: calls %v, want %v", paths(reqs), want)
		}

		// Invoices are Stripe's, listed for the organisation's customer.
		invs, err := w.svc.Invoices(ctx, w.devP, "", 10)
		if err != nil || len(invs) == 0 {
			t.Fatalf("invoices: %v %v", invs, err)
		}
		if inv := invs[0]; inv.ID == "" || inv.Status == "" || inv.Currency != "usd" || inv.AmountDueCents == 0 || inv.PeriodEnd.IsZero() {
			t.Errorf("invoice: %+v", inv)
		}
		reqs, mark = w.rec.since(mark)
		if len(reqs) != 1 || reqs[0].Path != "/v1/invoices" || reqs[0].Form.Get("customer") != w.customerID(t) {
			t.Fatalf("invoice list: %+v", reqs)
		}

		// Unsubscribing cancels at the end of the period; a subscription
		// still in Checkout is simply dropped.
		if err := s.App.Access().Unsubscribe(ctx, w.devP, sub.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.App.Access().Unsubscribe(ctx, w.devP, sub2.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		w.svc.RunDue(ctx)
		reqs, _ = w.rec.since(mark)
		if len(reqs) != 1 || reqs[0].Path != "/v1/subscriptions/"+w.billingSubRaw(t, sub.ID).StripeSubscriptionID ||
			reqs[0].Form.Get("cancel_at_period_end") != "true" {
			t.Fatalf("cancel: %+v", reqs)
		}
		if st := w.billingSubRaw(t, sub.ID).State; st != billing.StateCanceling {
			t.Fatalf("cancelled subscription: %s", st)
		}
		if st := w.billingSubRaw(t, sub2.ID).State; st != billing.StateCanceled {
			t.Fatalf("subscription dropped in Checkout: %s", st)
		}
	})
}

// billingSubRaw reads a billing subscription whose Portico subscription is gone.
func (w *world) billingSubRaw(t *testing.T, id string) billing.Subscription {
	t.Helper()
	var b billing.Subscription
	if err := w.s.App.Store().DB(context.Background()).Where("subscription_id = ?", id).Take(&b).Error; err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFreeTiersAndHerokuOrganisationsNeverReachStripe: free tiers skip the
// gate; organisations made by the Heroku add-on are billed by Heroku.
func TestFreeTiersAndHerokuOrganisationsNeverReachStripe(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s, base)
		ctx := context.Background()
		free := w.subscribe(t, "Bronze")
		if free.Status != access.StatusActive {
			t.Fatalf("free: %s", free.Status)
		}
		if err := s.App.Access().Unsubscribe(ctx, w.devP, free.ID); err != nil {
			t.Fatal(err)
		}
		w.svc = w.newService(t, func(context.Context, string) (bool, error) { return true, nil })
		s.App.Access().SetPaymentGate(w.svc)
		sub := w.subscribe(t, "Pro")
		w.svc.RunDue(ctx)
		if reqs, _ := w.rec.since(0); len(reqs) != 0 {
			t.Fatalf("Stripe called: %v", paths(reqs))
		}
		if st := w.status(t, sub.ID); st != access.StatusActive {
			t.Fatalf("Heroku-billed subscription: %s", st)
		}
		if _, err := w.svc.BillingSubscription(ctx, w.devP, sub.ID); err == nil {
			t.Fatal("a Heroku-billed subscription has a billing record")
		}
		if invs, err := w.svc.Invoices(ctx, w.devP, "", 10); err != nil || len(invs) != 0 {
			t.Fatalf("invoices of an organisation without a customer: %v %v", invs, err)
		}
	})
}

// TestApprovalDoesNotActivateAnUnpaidSubscription: on an API whose
// subscriptions wait for the publisher, approving a paid subscription before
// its payment is set up keeps it PENDING; the payment then activates it.
// Approving one already paid for activates it at once.
func TestApprovalDoesNotActivateAnUnpaidSubscription(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s, base)
		must(t, s, "PATCH", "/api/v1/apis/"+w.apiID, w.pub, map[string]any{"approval": "manual"}, 200)
		approve := func(id string) string {
			var out struct{ Status string }
			must(t, s, "POST", "/api/v1/subscriptions/"+id+"/approve", w.pub, nil, 200).JSON(t, &out)
			return out.Status
		}

		unpaid := w.subscribe(t, "Pro")
		if unpaid.Status != access.StatusPending {
			t.Fatalf("subscribe on a manual-approval API: %s", unpaid.Status)
		}
		if st := approve(unpaid.ID); st != access.StatusPending {
			t.Fatalf("approving an unpaid subscription made it %s, want PENDING until Stripe says it is paid", st)
		}
		if !w.billingSub(t, unpaid.ID).Held {
			t.Fatal("the approved, unpaid subscription is not held for its payment")
		}
		w.pay(t, unpaid)
		if st := w.status(t, unpaid.ID); st != access.StatusActive {
			t.Fatalf("approved and paid: %s, want ACTIVE", st)
		}

		// Paid first, approved second: the approval activates it.
		must(t, s, "DELETE", "/api/v1/subscriptions/"+unpaid.ID, w.dev, nil, 204)
		paidFirst := w.subscribe(t, "Pro")
		w.pay(t, paidFirst)
		if st := w.status(t, paidFirst.ID); st != access.StatusPending {
			t.Fatalf("paid but not approved: %s, want PENDING", st)
		}
		if st := approve(paidFirst.ID); st != access.StatusActive {
			t.Fatalf("approving a paid subscription made it %s, want ACTIVE", st)
		}
	})
}

// TestStripeDown: Stripe failing never fails the subscribe call; Stripe
// calls are retried with backoff, and a job whose calls keep failing is
// retried later and resumes where it stopped.
func TestStripeDown(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s, base)
		ctx := context.Background()

		// Two 500s, then success: the call's own retries absorb them.
		failures := 2
		w.rec.set(func(r request) bool {
			if r.Path == "/v1/customers" && failures > 0 {
				failures--
				return true
			}
			return false
		}, nil)
		sub := w.subscribe(t, "Pro")
		w.svc.RunDue(ctx)
		if b := w.billingSub(t, sub.ID); b.State != billing.StateCheckout {
			t.Fatalf("after transient errors: %+v", b)
		}

		// Stripe down for good: the subscribe call still succeeds, the job
		// waits and resumes.
		w.rec.set(func(r request) bool { return r.Path == "/v1/checkout/sessions" }, nil)
		other := must(t, s, "POST", "/api/v1/applications", w.dev, map[string]string{"name": "second"}, 201)
		var app2 struct{ ID string }
		other.JSON(t, &app2)
		sub2, err := s.App.Access().Subscribe(ctx, w.devP, access.NewSubscription{ApplicationID: app2.ID, APIID: w.apiID, Tier: "Metered"})
		if err != nil {
			t.Fatalf("subscribe while Stripe is down: %v", err)
		}
		w.svc.RunDue(ctx)
		if b := w.billingSub(t, sub2.ID); b.State != billing.StateStarting || b.MeterID == "" {
			t.Fatalf("while Stripe is down: %+v", b)
		}
		if n := count(t, w, `SELECT COUNT(*) FROM billing_outbox WHERE ref = ? AND state = 'pending' AND attempts = 1 AND last_error <> ''`, sub2.ID); n != 1 {
			t.Fatalf("job not kept for a retry")
		}
		_, mark := w.rec.since(0)
		w.rec.set(nil, nil)
		w.clock.Set(w.clock.Now().Add(time.Second)) // past the retry's backoff
		w.svc.RunDue(ctx)
		if b := w.billingSub(t, sub2.ID); b.State != billing.StateCheckout {
			t.Fatalf("after Stripe is back: %+v", b)
		}
		reqs, _ := w.rec.since(mark)
		want := []string{"GET /v1/customers/" + w.customerID(t), "POST /v1/checkout/sessions"}
		if !slices.Equal(paths(reqs), want) {
			t.Fatalf("resumed job: calls %v, want %v (the meter and prices are made once)", paths(reqs), want)
		}
	})
}

// TestWebhook checks signatures, replays, unknown events and the suspension
// of an organisation's paid subscriptions on a failed payment.
func TestWebhook(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s, base)
		ctx := context.Background()
		sub := w.activate(t, "Pro")
		cus := w.customerID(t)
		invoice := map[string]any{"id": "in_1", "object": "invoice", "customer": cus, "status": "open"}
		events := func() int64 { return count(t, w, `SELECT COUNT(*) FROM billing_events`) }

		bad := []struct {
			name    string
			payload []byte
			sig     func([]byte) string
		}{
			{"signed with another secret", billingtest.Event("evt_bad1", "invoice.payment_failed", invoice),
				func(p []byte) string { _, h := billingtest.Sign(p, "whsec_someone_else"); return h }},
			{"no signature", billingtest.Event("evt_bad2", "invoice.payment_failed", invoice), func([]byte) string { return "" }},
			{"garbage signature", billingtest.Event("evt_bad3", "invoice.payment_failed", invoice), func([]byte) string { return "t=1,v1=abc" }},
			{"payload changed after signing", billingtest.Event("evt_bad4", "invoice.payment_failed", invoice), func(p []byte) string {
				_, h := billingtest.Sign(billingtest.Event("evt_bad4", "invoice.paid", invoice), webhookSecret)
				return h
			}},
			{"signature too old", billingtest.Event("evt_bad5", "invoice.payment_failed", invoice), func(p []byte) string {
				return signAt(p, time.Now().Add(-time.Hour))
			}},
		}
		before := events()
		for _, c := range bad {
			t.Run("bad signature: "+c.name, func(t *testing.T) {
				out, err := w.svc.HandleWebhook(ctx, c.payload, c.sig(c.payload))
				if !errors.Is(err, billing.ErrBadSignature) {
					t.Fatalf("got %v %v, want ErrBadSignature", out, err)
				}
				if st := w.status(t, sub.ID); st != access.StatusActive {
					t.Fatalf("a refused event changed the subscription: %s", st)
				}
				if events() != before {
					t.Fatal("a refused event was stored")
				}
			})
		}

		t.Run("unknown event type is ignored", func(t *testing.T) {
			out, err := w.webhook(t, "evt_unknown", "customer.created", map[string]any{"id": cus, "object": "customer"})
			if err != nil || out != billing.Ignored || events() != before || w.status(t, sub.ID) != access.StatusActive {
				t.Fatalf("unknown: %v %v", out, err)
			}
		})
		t.Run("a failed payment suspends, a paid invoice restores", func(t *testing.T) {
			out, err := w.webhook(t, "evt_failed", "invoice.payment_failed", invoice)
			if err != nil || out != billing.Handled {
				t.Fatalf("payment_failed: %v %v", out, err)
			}
			if st := w.status(t, sub.ID); st != access.StatusSuspended {
				t.Fatalf("after a failed payment: %s", st)
			}
			out, err = w.webhook(t, "evt_paid", "invoice.paid", invoice)
			if err != nil || out != billing.Handled {
				t.Fatalf("paid: %v %v", out, err)
			}
			if st := w.status(t, sub.ID); st != access.StatusActive {
				t.Fatalf("after payment: %s", st)
			}
		})
		t.Run("a replayed event is ignored", func(t *testing.T) {
			n := events()
			out, err := w.webhook(t, "evt_failed", "invoice.payment_failed", invoice)
			if err != nil || out != billing.Replayed {
				t.Fatalf("replay: %v %v", out, err)
			}
			if st := w.status(t, sub.ID); st != access.StatusActive || events() != n {
				t.Fatalf("a replayed event changed something: %s", st)
			}
		})
		t.Run("another account's customer is ignored", func(t *testing.T) {
			out, err := w.webhook(t, "evt_foreign", "invoice.payment_failed", map[string]any{"id": "in_2", "object": "invoice", "customer": "cus_not_ours"})
			if err != nil || out != billing.Ignored || w.status(t, sub.ID) != access.StatusActive {
				t.Fatalf("foreign: %v %v", out, err)
			}
		})
		t.Run("Stripe saying active releases a held subscription", func(t *testing.T) {
			other := must(t, s, "POST", "/api/v1/applications", w.dev, map[string]string{"name": "second"}, 201)
			var app2 struct{ ID string }
			other.JSON(t, &app2)
			held, err := s.App.Access().Subscribe(ctx, w.devP, access.NewSubscription{ApplicationID: app2.ID, APIID: w.apiID, Tier: "Metered"})
			if err != nil {
				t.Fatal(err)
			}
			w.svc.RunDue(ctx)
			if st := w.status(t, held.ID); st != access.StatusPending {
				t.Fatalf("held: %s", st)
			}
			// The event can arrive before the worker stored the Stripe id:
			// the metadata names the subscription.
			for _, c := range []struct{ id, status, want string }{
				{"evt_incomplete", "incomplete", access.StatusPending},
				{"evt_active", "active", access.StatusActive},
			} {
				out, err := w.webhook(t, c.id, "customer.subscription.updated", map[string]any{"id": "sub_from_stripe", "object": "subscription",
					"status": c.status, "customer": cus, "metadata": map[string]string{"portico_subscription_id": held.ID}})
				if err != nil || out != billing.Handled {
					t.Fatalf("%s: %v %v", c.id, out, err)
				}
				if st := w.status(t, held.ID); st != c.want {
					t.Fatalf("Stripe says %s: the subscription is %s, want %s", c.status, st, c.want)
				}
			}
			if b := w.billingSub(t, held.ID); b.StripeSubscriptionID != "sub_from_stripe" || b.State != billing.StateActive || b.Held {
				t.Fatalf("billing after the update: %+v", b)
			}
		})
		t.Run("Stripe ending the subscription suspends it for good", func(t *testing.T) {
			b := w.billingSub(t, sub.ID)
			out, err := w.webhook(t, "evt_deleted", "customer.subscription.deleted", map[string]any{"id": b.StripeSubscriptionID,
				"object": "subscription", "status": "canceled", "customer": cus})
			if err != nil || out != billing.Handled || w.status(t, sub.ID) != access.StatusSuspended {
				t.Fatalf("deleted: %v %v", out, err)
			}
			if _, err := w.webhook(t, "evt_paid_later", "invoice.paid", invoice); err != nil || w.status(t, sub.ID) != access.StatusSuspended {
				t.Fatalf("a later paid invoice restored an ended subscription: %v", err)
			}
		})
	})
}

// TestUsageReportingSurvivesACrash: the answer to a usage report is lost
// (the process dies between Stripe's answer and the database write); after
// the restart the same report is resent with the same identifier, so Stripe,
// which keeps one event per identifier, counts every call exactly once.
func TestUsageReportingSurvivesACrash(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s, base)
		ctx := context.Background()
		start := w.clock.Now().Truncate(time.Hour)
		sub := w.activate(t, "Pro")
		h0, h2, h3 := start, start.Add(2*time.Hour), start.Add(3*time.Hour)
		w.usage.calls[h0], w.usage.calls[h2], w.usage.calls[h3] = 120, 7, 99 // h1: no calls

		// Three hours later (h3 still open): the first report's answer is lost.
		w.clock.Set(h3.Add(10 * time.Minute))
		_, mark := w.rec.since(0)
		// Every answer about the first hour is lost until the node dies (its
		// own retries included).
		lostID := ""
		w.rec.set(nil, func(r request) bool {
			if r.Path == "/v1/billing/meter_events" && (lostID == "" || r.Form.Get("identifier") == lostID) {
				lostID = r.Form.Get("identifier")
				return true
			}
			return false
		})
		crashed := w.newService(t, nil)
		if err := crashed.ReportUsage(ctx); err == nil {
			t.Fatal("a lost answer was not noticed")
		}
		if n := count(t, w, `SELECT COUNT(*) FROM billing_usage_reports WHERE subscription_id = ? AND state = 'pending'`, sub.ID); n != 1 {
			t.Fatalf("pending reports after the crash: %d", n)
		}

		// The restarted node resends it.
		w.rec.set(nil, nil)
		restarted := w.newService(t, nil)
		if err := restarted.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if err := restarted.ReportUsage(ctx); err != nil { // nothing left: no call
			t.Fatal(err)
		}
		reqs, _ := w.rec.since(mark)
		byID := map[string][]request{}
		billed := map[string]string{} // what Stripe keeps: one event per identifier
		for _, r := range reqs {
			if r.Path != "/v1/billing/meter_events" {
				t.Fatalf("unexpected call %s %s", r.Method, r.Path)
			}
			id := r.Form.Get("identifier")
			if r.IdempotencyKey != id || r.Form.Get("payload[stripe_customer_id]") != w.customerID(t) ||
				r.Form.Get("event_name") != w.billingSub(t, sub.ID).MeterEventName {
				t.Fatalf("meter event: key %q form %v", r.IdempotencyKey, r.Form)
			}
			byID[id] = append(byID[id], r)
			if _, ok := billed[id]; !ok {
				billed[id] = r.Form.Get("payload[value]")
			}
		}
		// The lost hour went 3 times from the crashed node (its retries) and
		// once after the restart; the other hour once.
		if len(byID) != 2 || len(byID[lostID]) != 4 || len(reqs) != 5 {
			t.Fatalf("meter events: %d requests for %d hours (%d for the lost one)", len(reqs), len(byID), len(byID[lostID]))
		}
		for id, rs := range byID {
			for _, r := range rs[1:] {
				if r.Form.Encode() != rs[0].Form.Encode() || r.IdempotencyKey != rs[0].IdempotencyKey {
					t.Fatalf("a resend of %s differs: %v vs %v", id, r.Form, rs[0].Form)
				}
			}
		}
		if lostID != reportID(sub.ID, h0) {
			t.Fatalf("lost %s, want the first hour", lostID)
		}
		if billed[reportID(sub.ID, h0)] != "120" || billed[reportID(sub.ID, h2)] != "7" {
			t.Fatalf("billed %v", billed)
		}
		if n := count(t, w, `SELECT COUNT(*) FROM billing_usage_reports WHERE subscription_id = ? AND state = 'sent'`, sub.ID); n != 2 {
			t.Fatalf("sent reports: %d", n)
		}
		if b := w.billingSub(t, sub.ID); !b.UsageFrom.Equal(h3) {
			t.Fatalf("high-water mark %v, want %v (the open hour is not counted)", b.UsageFrom, h3)
		}

		// An hour later the next hour is reported once.
		w.clock.Set(h3.Add(time.Hour + 10*time.Minute))
		_, mark = w.rec.since(0)
		if err := restarted.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
		reqs, _ = w.rec.since(mark)
		if len(reqs) != 1 || reqs[0].Form.Get("payload[value]") != "99" || reqs[0].Form.Get("identifier") != reportID(sub.ID, h3) {
			t.Fatalf("next hour: %+v", reqs)
		}
	})
}

func reportID(sub string, hour time.Time) string {
	return "portico-" + sub + "-" + itoa(hour.Unix())
}
