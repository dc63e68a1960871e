package billing_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"portico/internal/app/apptest"
	"portico/internal/billing/billingtest"
	"portico/internal/config"
)

// FuzzWebhook posts arbitrary Stripe events to the webhook of a real Portico
// (SQLite): signed with the webhook secret (sign = 0), with another secret (1),
// or under an arbitrary Stripe-Signature header (2). A bad signature is a 400
// that changes nothing; a signed event Portico cannot use is a 4xx or ignored,
// never a 5xx (Stripe would retry it for days); a handled event delivered again
// is replayed.
func FuzzWebhook(f *testing.F) {
	const secret = "whsec_fuzz_secret"
	base := billingtest.StripeMock(f)
	s := apptest.Start(f, "sqlite", func(c *config.Config) {
		c.Stripe = config.Stripe{SecretKey: "sk_test_123", WebhookSecret: secret, APIBase: base}
	})
	for _, e := range []struct {
		typ    string
		object any
	}{
		{"invoice.paid", map[string]any{"id": "in_1", "object": "invoice", "customer": "cus_nobody", "subscription": "sub_nobody"}},
		{"invoice.payment_failed", map[string]any{"id": "in_2", "object": "invoice", "customer": map[string]any{"id": "cus_x", "object": "customer"}}},
		{"customer.subscription.updated", map[string]any{"id": "sub_1", "object": "subscription", "status": "past_due", "metadata": map[string]string{"portico_subscription_id": "nope"}}},
		{"customer.subscription.deleted", map[string]any{"id": "sub_2", "object": "subscription", "items": map[string]any{"data": []any{}}}},
		{"checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session", "mode": "setup", "metadata": map[string]string{"portico_subscription_id": "00000000-0000-0000-0000-000000000000"}}},
		{"checkout.session.completed", map[string]any{"id": "cs_2", "object": "checkout.session", "setup_intent": map[string]any{"id": "seti_1", "payment_method": 5}}},
		{"invoice.paid", "not an object"},
		{"charge.refunded", map[string]any{"id": "ch_1"}},
	} {
		for sign := range uint8(3) {
			f.Add(billingtest.Event("evt_seed_"+e.typ, e.typ, e.object), sign, "t=1,v1=00")
		}
	}
	f.Add([]byte(`{"id":"evt_x","type":"invoice.paid","data":null}`), uint8(0), "")
	f.Add([]byte(`{"id":"","type":"invoice.paid","data":{"object":{}}}`), uint8(0), "")
	f.Add([]byte(`not json`), uint8(0), "")
	f.Add([]byte(`{}`), uint8(2), "t=99999999999999999999,v1=,v0=zz")
	send := func(t *testing.T, payload []byte, sig string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/billing/stripe/webhook", bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", sig)
		r := s.Send(t, req)
		if r.Status >= 500 {
			t.Fatalf("%d for %q: %s", r.Status, payload, r.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("%d answer is not JSON: %q", r.Status, r.Body)
		}
		return r.Status, out
	}
	f.Fuzz(func(t *testing.T, payload []byte, sign uint8, header string) {
		// Go's client refuses to send control characters in a header, and so
		// would any proxy in front of Portico.
		sig := strings.Map(func(r rune) rune {
			if r < ' ' && r != '\t' || r == 0x7f {
				return -1
			}
			return r
		}, header)
		switch sign % 3 {
		case 0:
			payload, sig = billingtest.Sign(payload, secret)
		case 1:
			payload, sig = billingtest.Sign(payload, "whsec_someone_else")
		}
		status, out := send(t, payload, sig)
		if sign%3 == 1 {
			if status != http.StatusBadRequest {
				t.Fatalf("an event signed with another secret got %d %v", status, out)
			}
			return
		}
		if status != http.StatusOK {
			return
		}
		if sign%3 != 0 {
			t.Fatalf("an event without a valid signature was taken: %v", out)
		}
		if out["outcome"] == "handled" {
			if again, out2 := send(t, payload, sig); again != http.StatusOK || out2["outcome"] != "replayed" {
				t.Fatalf("a handled event delivered again got %d %v", again, out2)
			}
		}
	})
}
