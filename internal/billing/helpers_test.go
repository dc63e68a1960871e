package billing_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/billing"
	"portico/internal/billing/billingtest"
	"portico/internal/store/storetest"
)

const webhookSecret = "whsec_test_secret"

// request is one call that reached Stripe (stripe-mock).
type request struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
}

// stripeRecorder is the HTTP transport to Stripe: it records every call and
// can break the connection after Stripe answered (a crash before the answer
// is stored) or fail calls before they reach Stripe (Stripe down).
type stripeRecorder struct {
	mu   sync.Mutex
	reqs []request
	// after, when it returns true for a call Stripe answered, loses the answer.
	after func(r request) bool
	// before, when it returns true, fails the call with a 500 without sending it.
	before func(r request) bool
}

func (s *stripeRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}
	rec := request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Form: form}
	s.mu.Lock()
	before, after := s.before, s.after
	s.mu.Unlock()
	if before != nil && before(rec) {
		return &http.Response{StatusCode: 500, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"error":{"type":"api_error","message":"Stripe is down (test)"}}`))}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.mu.Unlock()
	if after != nil && after(rec) {
		resp.Body.Close()
		return nil, errors.New("connection reset after Stripe answered (test)")
	}
	return resp, nil
}

// calls returns the recorded calls since mark, and the new mark.
func (s *stripeRecorder) since(mark int) ([]request, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs[mark:]...), len(s.reqs)
}

func (s *stripeRecorder) set(before, after func(request) bool) {
	s.mu.Lock()
	s.before, s.after = before, after
	s.mu.Unlock()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// usage is a test UsageSource: calls per hour start.
type usage struct {
	mu    sync.Mutex
	calls map[time.Time]int64
}

func (u *usage) Calls(_ context.Context, _ billing.Usage, from, to time.Time) (int64, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var n int64
	for h, c := range u.calls {
		if !h.Before(from) && h.Before(to) {
			n += c
		}
	}
	return n, nil
}

// world is a Portico with a publisher's API offering a paid tier, a developer
// with an application, and a billing service talking to stripe-mock.
type world struct {
	s        *apptest.Server
	base     string // stripe-mock
	pub, dev string // tokens
	devP     account.Principal
	apiID    string
	appID    string
	rec      *stripeRecorder
	clock    *clock
	usage    *usage
	svc      *billing.Service
}

func newWorld(t *testing.T, s *apptest.Server, base string) *world {
	t.Helper()
	w := &world{s: s, base: base, rec: &stripeRecorder{}, clock: &clock{t: time.Now().UTC()}, usage: &usage{calls: map[time.Time]int64{}}}
	admin := s.AdminToken(t)
	w.pub = s.NewUser(t, admin, "pub@example.com", "publisher")
	w.dev = s.NewUser(t, admin, "dev@example.com", "developer")
	p, err := s.App.Accounts().TokenPrincipal(context.Background(), w.dev)
	if err != nil {
		t.Fatal(err)
	}
	w.devP = p
	must(t, s, "POST", "/api/v1/tiers", w.pub, map[string]any{"name": "Pro", "requests": 100, "per": "second",
		"monthly_fee_cents": 2500, "per_call_cents": 1}, 201)
	must(t, s, "POST", "/api/v1/tiers", w.pub, map[string]any{"name": "Metered", "requests": 100, "per": "second", "per_call_cents": 2}, 201)
	var api struct{ ID string }
	must(t, s, "POST", "/api/v1/apis", w.pub, map[string]any{"name": "Weather", "context": "weather", "version": "v1",
		"backend_url": "http://127.0.0.1:9/", "tiers": []string{"Bronze", "Pro", "Metered"}}, 201).JSON(t, &api)
	must(t, s, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", w.pub, map[string]string{"action": "publish"}, 200)
	w.apiID = api.ID
	var app struct{ ID string }
	must(t, s, "POST", "/api/v1/applications", w.dev, map[string]string{"name": "forecaster"}, 201).JSON(t, &app)
	w.appID = app.ID
	w.svc = w.newService(t, nil)
	s.App.Access().SetPaymentGate(w.svc)
	return w
}

// newService is a billing service over the world's database: a node, or the
// same node after a restart.
func (w *world) newService(t *testing.T, exempt billing.Exemption) *billing.Service {
	return billing.NewService(w.s.App.Store(), w.s.App.Accounts(), w.s.App.Catalog(), w.s.App.Access(), storetest.Logger(t), billing.Options{
		SecretKey: "sk_test_123", WebhookSecret: webhookSecret, APIBase: w.base, BaseURL: "http://portico.test",
		HTTPClient: &http.Client{Transport: w.rec, Timeout: 10 * time.Second}, Usage: w.usage, Exempt: exempt,
		StripeAttempts: 3, StripeBackoff: time.Millisecond, RetryBase: time.Millisecond, Now: w.clock.Now,
	})
}

func must(t *testing.T, s *apptest.Server, method, path, token string, body any, want int) *apptest.Response {
	t.Helper()
	r := s.Do(t, method, path, token, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

// subscribe subscribes the developer's application on tier, in process.
func (w *world) subscribe(t *testing.T, tier string) access.Subscription {
	t.Helper()
	sub, err := w.s.App.Access().Subscribe(context.Background(), w.devP, access.NewSubscription{ApplicationID: w.appID, APIID: w.apiID, Tier: tier})
	if err != nil {
		t.Fatalf("subscribe on %s: %v", tier, err)
	}
	return sub
}

func (w *world) status(t *testing.T, id string) string {
	t.Helper()
	sub, err := w.s.App.Access().Subscription(context.Background(), w.devP, id)
	if err != nil {
		t.Fatalf("read subscription: %v", err)
	}
	return sub.Status
}

func (w *world) billingSub(t *testing.T, id string) billing.Subscription {
	t.Helper()
	b, err := w.svc.BillingSubscription(context.Background(), w.devP, id)
	if err != nil {
		t.Fatalf("read billing subscription: %v", err)
	}
	return b
}

// webhook delivers a signed event to the service.
func (w *world) webhook(t *testing.T, id, typ string, object any) (billing.Outcome, error) {
	t.Helper()
	payload, sig := billingtest.Sign(billingtest.Event(id, typ, object), webhookSecret)
	return w.svc.HandleWebhook(context.Background(), payload, sig)
}

// activate takes a new paid subscription through Checkout to an active
// Stripe subscription.
func (w *world) activate(t *testing.T, tier string) access.Subscription {
	t.Helper()
	sub := w.subscribe(t, tier)
	w.pay(t, sub)
	return sub
}

// pay runs the worker for sub and completes its Checkout, as the developer
// paying does: Stripe then holds an active subscription.
func (w *world) pay(t *testing.T, sub access.Subscription) {
	t.Helper()
	w.svc.RunDue(context.Background())
	b := w.billingSub(t, sub.ID)
	if b.State != billing.StateCheckout || b.CheckoutSessionID == "" {
		t.Fatalf("after start: %+v", b)
	}
	if out, err := w.webhook(t, "evt_checkout_"+sub.ID, "checkout.session.completed", map[string]any{
		"id": b.CheckoutSessionID, "object": "checkout.session", "mode": "setup",
		"metadata": map[string]string{"portico_subscription_id": sub.ID},
	}); err != nil || out != billing.Handled {
		t.Fatalf("checkout.session.completed: %v %v", out, err)
	}
	w.svc.RunDue(context.Background())
	if b := w.billingSub(t, sub.ID); b.State != billing.StateActive || b.StripeSubscriptionID == "" {
		t.Fatalf("after checkout: %+v", b)
	}
}

// customerID is the organisation's Stripe customer as stored.
func (w *world) customerID(t *testing.T) string {
	t.Helper()
	var id string
	if err := w.s.App.Store().DB(context.Background()).Raw(`SELECT customer_id FROM billing_customers WHERE org_id = ?`, w.devP.OrgID).Scan(&id).Error; err != nil || id == "" {
		t.Fatalf("customer: %q %v", id, err)
	}
	return id
}

func count(t *testing.T, w *world, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := w.s.App.Store().DB(context.Background()).Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func paths(rs []request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Method + " " + r.Path
	}
	return out
}

// signAt signs payload as Stripe would have at t.
func signAt(payload []byte, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: t}).Header
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
