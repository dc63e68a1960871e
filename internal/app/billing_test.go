package app_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/billing/billingtest"
	"portico/internal/config"
)

const testWebhookSecret = "whsec_app_test"

func withStripe(base string) apptest.Option {
	return func(c *config.Config) {
		c.Stripe = config.Stripe{SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret, APIBase: base}
	}
}

// stripeEvent posts a signed (or, with secret "", unsigned) event to the webhook.
func stripeEvent(t *testing.T, s *apptest.Server, secret, id, typ string, object any) *apptest.Response {
	t.Helper()
	payload := billingtest.Event(id, typ, object)
	sig := "t=1,v1=bad"
	if secret != "" {
		payload, sig = billingtest.Sign(payload, secret)
	}
	req, _ := http.NewRequest("POST", s.URL+"/billing/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	return s.Send(t, req)
}

// TestPaidTiersWithoutStripe: without STRIPE_SECRET_KEY a paid tier cannot be
// subscribed (a clear 409), invoices are an empty list and there is no webhook.
func TestPaidTiersWithoutStripe(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		pub := s.NewUser(t, admin, "pub@example.com", "publisher")
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		mustDo(t, s, "POST", "/api/v1/tiers", pub, map[string]any{"name": "Paid", "requests": 10, "per": "second", "monthly_fee_cents": 900}, 201)
		var api struct{ ID string }
		mustDo(t, s, "POST", "/api/v1/apis", pub, map[string]any{"name": "P", "context": "p", "version": "v1",
			"backend_url": "http://127.0.0.1:9/", "tiers": []string{"Bronze", "Paid"}}, 201).JSON(t, &api)
		mustDo(t, s, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", pub, map[string]string{"action": "publish"}, 200)
		var app struct{ ID string }
		mustDo(t, s, "POST", "/api/v1/applications", dev, map[string]string{"name": "a"}, 201).JSON(t, &app)

		r := s.Do(t, "POST", "/api/v1/subscriptions", dev, map[string]string{"application_id": app.ID, "api_id": api.ID, "tier": "Paid"})
		if r.Status != 409 || r.ErrorCode() != "billing_unavailable" {
			t.Fatalf("paid tier without Stripe: %d %s", r.Status, r.Body)
		}
		var sub struct{ ID string }
		mustDo(t, s, "POST", "/api/v1/subscriptions", dev, map[string]string{"application_id": app.ID, "api_id": api.ID, "tier": "Bronze"}, 201).JSON(t, &sub)
		if r := s.Do(t, "GET", "/api/v1/billing/subscriptions/"+sub.ID, dev, nil); r.Status != 404 {
			t.Fatalf("billing of a free subscription: %d %s", r.Status, r.Body)
		}
		if r := mustDo(t, s, "GET", "/api/v1/invoices", dev, nil, 200); string(bytes.TrimSpace(r.Body)) != `{"items":[],"next_cursor":""}` {
			t.Fatalf("invoices: %s", r.Body)
		}
		if r := s.Do(t, "GET", "/api/v1/invoices", "", nil); r.Status != 401 {
			t.Fatalf("invoices without a token: %d", r.Status)
		}
		if r := stripeEvent(t, s, testWebhookSecret, "evt_1", "invoice.paid", map[string]any{"id": "in_1", "object": "invoice"}); r.Status != 404 {
			t.Fatalf("webhook without Stripe: %d %s", r.Status, r.Body)
		}
	})
}

// TestFailedPaymentSuspendsAtTheGateway is the paid path end to end through
// a real Portico and stripe-mock: a paid subscription waits for its payment
// method, becomes active when Stripe says so, a failed payment answers 403
// payment_required at the gateway within a second, and a paid invoice
// restores it.
func TestFailedPaymentSuspendsAtTheGateway(t *testing.T) {
	base := billingtest.StripeMock(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		be := newBackend(t)
		admin := s.AdminToken(t)
		pub := s.NewUser(t, admin, "pub@example.com", "publisher")
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		mustDo(t, s, "POST", "/api/v1/tiers", pub, map[string]any{"name": "Paid", "requests": 100, "per": "second",
			"monthly_fee_cents": 900, "per_call_cents": 1}, 201)
		var api struct{ ID string }
		mustDo(t, s, "POST", "/api/v1/apis", pub, map[string]any{"name": "Quotes", "context": "quotes", "version": "v1",
			"backend_url": be.URL, "default_version": true, "tiers": []string{"Paid"}, "auth": []string{"api_key"}}, 201).JSON(t, &api)
		mustDo(t, s, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", pub, map[string]string{"action": "publish"}, 200)
		var app struct{ ID string }
		mustDo(t, s, "POST", "/api/v1/applications", dev, map[string]string{"name": "trader"}, 201).JSON(t, &app)
		var key struct{ Key string }
		mustDo(t, s, "POST", "/api/v1/applications/"+app.ID+"/keys", dev, nil, 201).JSON(t, &key)

		var sub struct{ ID, Status string }
		mustDo(t, s, "POST", "/api/v1/subscriptions", dev, map[string]string{"application_id": app.ID, "api_id": api.ID, "tier": "Paid"}, 201).JSON(t, &sub)
		if sub.Status != "PENDING" {
			t.Fatalf("a paid subscription starts %s before any payment, want PENDING", sub.Status)
		}
		// Never served unpaid, not even before the worker has run.
		for range 5 {
			if r := call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key); r.Status == 200 {
				t.Fatalf("unpaid subscription served: %d %s", r.Status, r.Body)
			}
			time.Sleep(150 * time.Millisecond)
		}

		// The worker sets it up in Stripe after commit and holds it until paid.
		var billingSub struct {
			State       string `json:"state"`
			CheckoutURL string `json:"checkout_url"`
		}
		within(t, 5*time.Second, "Checkout session", func() bool {
			mustDo(t, s, "GET", "/api/v1/billing/subscriptions/"+sub.ID, dev, nil, 200).JSON(t, &billingSub)
			return billingSub.State == "checkout"
		})
		if billingSub.CheckoutURL == "" {
			t.Fatal("no Checkout link")
		}
		if r := call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key); r.Status != 403 {
			t.Fatalf("held subscription answered %d", r.Status)
		}

		// The portal's application page sends the developer to pay.
		b := s.Browser(t)
		_, login := get(t, b, s.URL+"/portal/login")
		postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, login)}, "email": {"dev@example.com"}, "password": {"user-password-1"}})
		if _, page := get(t, b, s.URL+"/portal/default/applications/"+app.ID); !strings.Contains(string(page), "Pay to activate") ||
			!strings.Contains(string(page), html.EscapeString(billingSub.CheckoutURL)) {
			t.Fatalf("application page offers no Checkout link %q:\n%s", billingSub.CheckoutURL, page)
		}

		var sessionID string
		if err := s.App.Store().DB(context.Background()).Raw(`SELECT checkout_session_id FROM billing_subscriptions WHERE subscription_id = ?`, sub.ID).Scan(&sessionID).Error; err != nil {
			t.Fatal(err)
		}
		if r := stripeEvent(t, s, testWebhookSecret, "evt_checkout", "checkout.session.completed", map[string]any{"id": sessionID,
			"object": "checkout.session", "mode": "setup", "metadata": map[string]string{"portico_subscription_id": sub.ID}}); r.Status != 200 {
			t.Fatalf("checkout webhook: %d %s", r.Status, r.Body)
		}
		took := within(t, 5*time.Second, "active once Stripe says so", func() bool {
			return call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key).Status == 200
		})
		t.Logf("paid subscription served %v after the Checkout webhook", took)

		var cus string
		if err := s.App.Store().DB(context.Background()).Raw(`SELECT customer_id FROM billing_customers`).Scan(&cus).Error; err != nil || cus == "" {
			t.Fatalf("customer: %v", err)
		}
		invoice := map[string]any{"id": "in_1", "object": "invoice", "customer": cus}

		// The developer sees the organisation's invoices in the portal.
		resp, page := get(t, b, s.URL+"/portal/default/invoices")
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Invoices of") || strings.Contains(string(page), "not set up") || !strings.Contains(string(page), "<tbody>") {
			t.Fatalf("invoices page: %d %s", resp.StatusCode, page)
		}

		if r := stripeEvent(t, s, "", "evt_forged", "invoice.payment_failed", invoice); r.Status != 400 || r.ErrorCode() != "invalid_signature" {
			t.Fatalf("bad signature: %d %s", r.Status, r.Body)
		}
		if r := stripeEvent(t, s, testWebhookSecret, "evt_failed", "invoice.payment_failed", invoice); r.Status != 200 {
			t.Fatalf("payment_failed: %d %s", r.Status, r.Body)
		}
		took = within(t, propagation, "suspension", func() bool {
			return call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key).ErrorCode() == "payment_required"
		})
		t.Logf("suspension enforced after %v", took)
		if r := call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key); r.Status != 403 {
			t.Fatalf("suspended: %d", r.Status)
		}
		if r := stripeEvent(t, s, testWebhookSecret, "evt_paid", "invoice.paid", invoice); r.Status != 200 {
			t.Fatalf("paid: %d %s", r.Status, r.Body)
		}
		within(t, propagation, "restored", func() bool { return call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key).Status == 200 })
		// The failure again, replayed by Stripe: ignored.
		if r := stripeEvent(t, s, testWebhookSecret, "evt_failed", "invoice.payment_failed", invoice); r.Status != 200 {
			t.Fatalf("replay: %d %s", r.Status, r.Body)
		}
		time.Sleep(700 * time.Millisecond) // the loader polls every 500 ms
		if r := call(t, s, "GET", "/quotes/v1/x", "apikey", key.Key); r.Status != 200 {
			t.Fatalf("a replayed event suspended again: %d %s", r.Status, r.Body)
		}

		var invs struct {
			Items []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"items"`
		}
		mustDo(t, s, "GET", "/api/v1/invoices?limit=5", dev, nil, 200).JSON(t, &invs)
		if len(invs.Items) == 0 || invs.Items[0].ID == "" {
			t.Fatalf("invoices: %+v", invs)
		}
	}, withStripe(base))
}
