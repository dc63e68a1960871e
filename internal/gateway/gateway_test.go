package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"portico/internal/gateway/snapshot"
	"portico/internal/platform/secrets"
)

const (
	issuer   = "http://portico.test"
	audience = "http://portico.test"
)

// fixture is a gateway in front of a recording backend, with an RSA key to mint
// access tokens the way the OAuth server does.
type fixture struct {
	t       testing.TB
	gw      *Gateway
	backend *httptest.Server
	key     *rsa.PrivateKey
	mu      sync.Mutex
	seen    []*http.Request
	events  chan Event
	cfg     snapshot.Config
}

type chanMeter chan Event

func (c chanMeter) Record(e Event) {
	select {
	case c <- e:
	default:
	}
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, events: make(chan Event, 100)}
	f.backend = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Clone(r.Context()))
		f.mu.Unlock()
		if r.URL.Path == "/base/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
	}))
	t.Cleanup(f.backend.Close)
	var err error
	if f.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	f.gw = New(Options{Log: slog.New(slog.DiscardHandler), Meter: chanMeter(f.events)})
	t.Cleanup(f.gw.Close)
	pets := []snapshot.Operation{
		{Method: "GET", Path: "/pets"},
		{Method: "GET", Path: "/pets/{id}", Scopes: []string{"pets:read"}},
		{Method: "POST", Path: "/pets", Scopes: []string{"pets:write"}},
		{Method: "GET", Path: "/slow"},
		{Method: "GET", Path: "/health", NoAuth: true},
	}
	api := func(id, ctx, ver, state string, def bool) snapshot.API {
		return snapshot.API{ID: id, OrgID: "org1", Name: id, Context: ctx, Version: ver, Default: def, State: state,
			Auth: []string{"api_key", "oauth2"}, Backends: []string{f.backend.URL + "/base"}, TimeoutMS: 150,
			BackendHeader: "X-Portico-Secret", BackendHeaderValue: "s3cret", Operations: pets}
	}
	f.cfg = snapshot.Config{
		Version: 1, Issuer: issuer, Audience: audience,
		SigningKeys:   []snapshot.SigningKey{{KID: "k1", Algorithm: "RS256", Key: &f.key.PublicKey}},
		RevokedTokens: []string{"revoked-jti"},
		APIs: []snapshot.API{
			api("pets-v1", "pets", "v1", snapshot.StatePublished, false),
			api("pets-v2", "pets", "v2", snapshot.StateDeprecated, true),
			api("draft", "draft", "v1", snapshot.StateCreated, true),
			api("old", "old", "v1", snapshot.StateRetired, true),
			api("blocked", "blocked", "v1", snapshot.StateBlocked, true),
			{ID: "proto", OrgID: "org1", Context: "proto", Version: "v1", Default: true, State: snapshot.StatePrototyped,
				Operations: []snapshot.Operation{
					{Method: "GET", Path: "/pets/{id}", Mock: &snapshot.MockResponse{Status: 200, ContentType: "application/json", Body: []byte(`{"id":1,"name":"Rex"}`)}},
					{Method: "DELETE", Path: "/pets/{id}"},
				}},
			{ID: "open", OrgID: "org1", Context: "open", Version: "v1", Default: true, State: snapshot.StatePublished, Backends: []string{f.backend.URL}},
			{ID: "down", OrgID: "org1", Context: "down", Version: "v1", Default: true, State: snapshot.StatePublished, Backends: []string{"http://127.0.0.1:1"}},
		},
		Applications: []snapshot.Application{{ID: "app1", OrgID: "org1", ClientID: "client1"}, {ID: "app2", OrgID: "org1", ClientID: "client2"}, {ID: "app3", OrgID: "org1", ClientID: "client3"}, {ID: "app4", OrgID: "org1"}},
		Keys: []snapshot.APIKey{
			{Hash: secrets.Hash("good-key"), ApplicationID: "app1"},
			{Hash: secrets.Hash("expired-key"), ApplicationID: "app1", ExpiresAt: time.Now().Add(-time.Minute)},
			{Hash: secrets.Hash("pending-key"), ApplicationID: "app2"},
			{Hash: secrets.Hash("lonely-key"), ApplicationID: "app3"},
			{Hash: secrets.Hash("nosub-key"), ApplicationID: "app4"},
		},
		Subscriptions: []snapshot.Subscription{
			{ID: "sub1", ApplicationID: "app1", APIID: "pets-v1", Tier: "Gold", Status: snapshot.SubActive},
			{ID: "sub1b", ApplicationID: "app1", APIID: "pets-v2", Tier: "Three", Status: snapshot.SubActive},
			{ID: "sub1c", ApplicationID: "app1", APIID: "down", Tier: "Gold", Status: snapshot.SubActive},
			{ID: "sub2", ApplicationID: "app2", APIID: "pets-v1", Tier: "Gold", Status: snapshot.SubPending},
			{ID: "sub3", ApplicationID: "app2", APIID: "pets-v2", Tier: "Gold", Status: snapshot.SubBlocked},
			{ID: "sub4", ApplicationID: "app3", APIID: "pets-v1", Tier: "Gold", Status: snapshot.SubSuspended},
			{ID: "sub5", ApplicationID: "app3", APIID: "pets-v2", Tier: "Platinum", Status: snapshot.SubActive},
		},
		Tiers: []snapshot.Tier{
			{OrgID: "org1", Name: "Gold", Requests: 5000, Per: "minute"},
			{OrgID: "org1", Name: "Three", Requests: 3, Per: "minute"},
		},
	}
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) token(claims map[string]any, kid string) string {
	f.t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: f.key}, (&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		f.t.Fatal(err)
	}
	c := map[string]any{"iss": issuer, "aud": audience, "sub": "user", "client_id": "client1", "scope": "pets:read other",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "jti": "jti-1"}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

type result struct {
	status int
	header http.Header
	body   string
	code   string
}

func (f *fixture) call(method, path string, header ...string) result {
	f.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = "203.0.113.7:5555"
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.gw.ServeHTTP(rec, req)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return result{rec.Code, rec.Header(), rec.Body.String(), e.Error.Code}
}

func (f *fixture) lastSeen() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		return nil
	}
	return f.seen[len(f.seen)-1]
}

func TestContractTable(t *testing.T) {
	f := newFixture(t)
	good := f.token(nil, "k1")
	cases := []struct {
		name, method, path string
		header             []string
		status             int
		code               string
	}{
		{"unknown context", "GET", "/nope/v1/pets", nil, 404, "api_not_found"},
		{"created API is not served", "GET", "/draft/v1/pets", []string{"apikey", "good-key"}, 404, "api_not_found"},
		{"retired API is not served", "GET", "/old/v1/pets", []string{"apikey", "good-key"}, 404, "api_not_found"},
		{"blocked API", "GET", "/blocked/v1/pets", []string{"apikey", "good-key"}, 503, "api_blocked"},
		{"no credentials", "GET", "/pets/v1/pets", nil, 401, "missing_credentials"},
		{"unknown key", "GET", "/pets/v1/pets", []string{"apikey", "nope"}, 401, "invalid_api_key"},
		{"expired key", "GET", "/pets/v1/pets", []string{"apikey", "expired-key"}, 401, "invalid_api_key"},
		{"basic auth is not a credential here", "GET", "/pets/v1/pets", []string{"Authorization", "Basic eDp5"}, 401, "unsupported_credentials"},
		{"subscription blocked", "GET", "/pets/v2/pets", []string{"apikey", "pending-key"}, 403, "subscription_blocked"},
		{"subscription pending", "GET", "/pets/v1/pets", []string{"apikey", "pending-key"}, 403, "subscription_pending"},
		{"unpaid subscription", "GET", "/pets/v1/pets", []string{"apikey", "lonely-key"}, 403, "payment_required"},
		{"tier gone", "GET", "/pets/v2/pets", []string{"apikey", "lonely-key"}, 403, "tier_unavailable"},
		{"application without a subscription", "GET", "/pets/v1/pets", []string{"apikey", "nosub-key"}, 403, "not_subscribed"},
		{"unknown operation", "DELETE", "/pets/v1/pets", []string{"apikey", "good-key"}, 404, "operation_not_found"},
		{"key passes", "GET", "/pets/v1/pets", []string{"apikey", "good-key"}, 200, ""},
		{"operation without auth", "GET", "/pets/v1/health", nil, 200, ""},
		{"token passes with its scope", "GET", "/pets/v1/pets/7", []string{"Authorization", "Bearer " + good}, 200, ""},
		{"token lacks a scope", "POST", "/pets/v1/pets", []string{"Authorization", "Bearer " + good}, 403, "insufficient_scope"},
		{"expired token", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}, "k1")}, 401, "invalid_token"},
		{"token of another issuer", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(map[string]any{"iss": "http://evil"}, "k1")}, 401, "invalid_token"},
		{"token for another audience", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(map[string]any{"aud": "http://elsewhere"}, "k1")}, 401, "invalid_token"},
		{"token with an unknown kid", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(nil, "k9")}, 401, "invalid_token"},
		{"revoked token", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(map[string]any{"jti": "revoked-jti"}, "k1")}, 401, "invalid_token"},
		{"token of an unknown client", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(map[string]any{"client_id": "ghost"}, "k1")}, 401, "invalid_token"},
		{"token without expiry", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + f.token(map[string]any{"exp": nil}, "k1")}, 401, "invalid_token"},
		{"garbage token", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer not.a.jwt"}, 401, "invalid_token"},
		{"tampered token", "GET", "/pets/v1/pets", []string{"Authorization", "Bearer " + good[:len(good)-4] + "AAAA"}, 401, "invalid_token"},
		{"prototype answers from its example", "GET", "/proto/pets/1", nil, 200, ""},
		{"prototype operation without example", "DELETE", "/proto/pets/1", nil, 501, "no_mock"},
		{"backend down", "GET", "/down/v1/anything", []string{"apikey", "good-key"}, 502, "backend_unavailable"},
		{"backend too slow", "GET", "/pets/v1/slow", []string{"apikey", "good-key"}, 504, "backend_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.call(tc.method, tc.path, tc.header...)
			if r.status != tc.status || r.code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, r.code, tc.status, tc.code, r.body)
			}
			if r.status >= 400 && r.code == "" {
				t.Fatalf("error without a code: %s", r.body)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestWhatTheBackendSees(t *testing.T) {
	f := newFixture(t)
	r := f.call("GET", "/pets/v1/pets/42?color=red", "apikey", "good-key", "X-Request-ID", "req-1",
		"X-Portico-Application", "spoofed", "Host", "api.example.com")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	f.call("GET", "/pets/v1/pets", "apikey", "good-key", "X-Request-ID", "req-1", "X-Portico-Application", "spoofed")
	seen := f.lastSeen()
	if seen.URL.Path != "/base/pets" {
		t.Fatalf("backend path %q", seen.URL.Path)
	}
	checks := map[string]string{
		"X-Portico-Application": "app1",
		"X-Request-Id":          "req-1",
		"X-Portico-Secret":      "s3cret",
		"X-Forwarded-For":       "203.0.113.7",
		"X-Forwarded-Proto":     "http",
		"Apikey":                "",
		"Authorization":         "",
	}
	for h, want := range checks {
		if got := seen.Header.Get(h); got != want {
			t.Errorf("backend header %s = %q, want %q", h, got, want)
		}
	}
	f.call("GET", "/pets/v1/pets/42?color=red", "Authorization", "Bearer "+f.token(nil, "k1"))
	seen = f.lastSeen()
	if seen.URL.Path != "/base/pets/42" || seen.URL.RawQuery != "color=red" || seen.Header.Get("Authorization") != "" {
		t.Fatalf("token call reached %s?%s with auth %q", seen.URL.Path, seen.URL.RawQuery, seen.Header.Get("Authorization"))
	}
	if seen.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id made")
	}
	// An open API: nobody is calling "as" an application, whatever the client says.
	f.call("GET", "/open/hello", "X-Portico-Application", "spoofed")
	if got := f.lastSeen().Header.Get("X-Portico-Application"); got != "" {
		t.Fatalf("spoofed application id reached the backend: %q", got)
	}
}

func TestDefaultVersionAndDeprecation(t *testing.T) {
	f := newFixture(t)
	r := f.call("GET", "/pets/pets", "apikey", "good-key")
	if r.status != 200 || r.header.Get("Deprecation") != "true" {
		t.Fatalf("default version (v2, deprecated): %d %v", r.status, r.header)
	}
	if f.lastSeen().URL.Path != "/base/pets" {
		t.Fatalf("path %q", f.lastSeen().URL.Path)
	}
	r = f.call("GET", "/pets/v1/pets", "apikey", "good-key")
	if r.header.Get("Deprecation") != "" {
		t.Fatal("v1 is not deprecated")
	}
}

func TestRateLimitHeadersAndRefusal(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 3; i++ {
		r := f.call("GET", "/pets/v2/pets", "apikey", "good-key")
		if r.status != 200 || r.header.Get("RateLimit-Limit") != "3" || r.header.Get("RateLimit-Remaining") != string(rune('2'-i)) || r.header.Get("RateLimit-Reset") == "" {
			t.Fatalf("call %d: %d %v", i, r.status, r.header)
		}
	}
	r := f.call("GET", "/pets/v2/pets", "apikey", "good-key")
	if r.status != 429 || r.code != "rate_limited" || r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d %v %s", r.status, r.header, r.body)
	}
	// A reload keeps the count: the counters live outside the snapshot.
	f.cfg.Version++
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	if r := f.call("GET", "/pets/v2/pets", "apikey", "good-key"); r.status != 429 {
		t.Fatalf("a reload reset the counter: %d", r.status)
	}
}

func TestOperationLimitAndRefundOfRefusals(t *testing.T) {
	f := newFixture(t)
	f.cfg.APIs[0].Operations = append([]snapshot.Operation{{Method: "GET", Path: "/pets/special", Limit: &snapshot.Limit{Requests: 2, Per: "minute"}}}, f.cfg.APIs[0].Operations...)
	f.cfg.Tiers[0].Requests = 4 // Gold: 4 a minute, so the refunds show
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if r := f.call("GET", "/pets/v1/pets/special", "apikey", "good-key"); r.status != 200 {
			t.Fatalf("call %d: %d", i, r.status)
		}
	}
	for i := 0; i < 3; i++ {
		if r := f.call("GET", "/pets/v1/pets/special", "apikey", "good-key"); r.status != 429 || r.code != "rate_limited" {
			t.Fatalf("over the operation's limit: %d %s", r.status, r.body)
		}
	}
	// The three refusals gave their tier calls back: two of Gold's four remain.
	for i := 0; i < 2; i++ {
		if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 200 {
			t.Fatalf("tier call %d after refusals: %d %s", i, r.status, r.body)
		}
	}
	if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 429 {
		t.Fatalf("tier exhausted: %d", r.status)
	}
}

func TestAPIWideLimitCountsEveryCaller(t *testing.T) {
	f := newFixture(t)
	f.cfg.APIs[6].Limit = &snapshot.Limit{Requests: 2, Per: "minute"} // "open": no credentials
	f.cfg.APIs[0].Limit = &snapshot.Limit{Requests: 3, Per: "minute"}
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if r := f.call("GET", "/open/x"); r.status != 200 || r.header.Get("RateLimit-Limit") != "2" {
			t.Fatalf("open call %d: %d %v", i, r.status, r.header)
		}
	}
	if r := f.call("GET", "/open/x"); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("open API over its limit: %d", r.status)
	}
	// pets v1: a key and a token (two applications' worth of calls) share 3.
	tok := f.token(nil, "k1")
	f.call("GET", "/pets/v1/pets", "apikey", "good-key")
	f.call("GET", "/pets/v1/pets/1", "Authorization", "Bearer "+tok)
	f.call("GET", "/pets/v1/pets", "apikey", "good-key")
	if r := f.call("GET", "/pets/v1/pets/1", "Authorization", "Bearer "+tok); r.status != 429 || r.code != "rate_limited" {
		t.Fatalf("API-wide limit: %d %s", r.status, r.body)
	}
}

func TestApplicationTierSpansItsAPIs(t *testing.T) {
	f := newFixture(t)
	f.cfg.Applications[0].Limit = &snapshot.Limit{Requests: 2, Per: "minute"} // app1: subscribed to pets v1 and v2
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := f.call("GET", "/pets/v2/pets", "apikey", "good-key"); r.status != 200 {
		t.Fatal(r.status)
	}
	r := f.call("GET", "/pets/v1/pets", "apikey", "good-key")
	if r.status != 429 || r.code != "rate_limited" || !strings.Contains(r.body, "application tier") {
		t.Fatalf("third call of the application: %d %s", r.status, r.body)
	}
	// The refused call gave its tier call back: v2's Three tier still has 2 left.
	f.cfg.Applications[0].Limit = nil
	f.cfg.Version++
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if r := f.call("GET", "/pets/v2/pets", "apikey", "good-key"); r.status != 200 {
			t.Fatalf("v2 call %d after the refusal: %d", i, r.status)
		}
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t)
	f.cfg.APIs[0].CORS = &snapshot.CORS{AllowOrigins: []string{"https://app.example.com"}, MaxAge: 600}
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	r := f.call("OPTIONS", "/pets/v1/pets", "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.header.Get("Access-Control-Max-Age") != "600" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "apikey") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	r = f.call("GET", "/pets/v1/pets", "Origin", "https://app.example.com", "apikey", "good-key")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "RateLimit-Remaining") {
		t.Fatalf("actual call: %d %v", r.status, r.header)
	}
	r = f.call("GET", "/pets/v1/pets", "Origin", "https://evil.example.com", "apikey", "good-key")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a foreign origin was allowed")
	}
	// Errors carry the headers too, so a browser app can read them.
	r = f.call("GET", "/pets/v1/pets", "Origin", "https://app.example.com")
	if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("401 without CORS headers: %v", r.header)
	}
}

func TestMockAnswer(t *testing.T) {
	f := newFixture(t)
	r := f.call("GET", "/proto/v1/pets/9")
	if r.status != 200 || r.body != `{"id":1,"name":"Rex"}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
}

func TestReloadSwapsAndABadConfigKeepsTheOld(t *testing.T) {
	f := newFixture(t)
	if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 200 {
		t.Fatal(r.status)
	}
	bad := f.cfg
	bad.APIs = append([]snapshot.API{}, f.cfg.APIs...)
	bad.APIs[0].Backends = []string{"ftp://nope"}
	if err := f.gw.Load(bad); err == nil {
		t.Fatal("a config with a bad backend loaded")
	}
	if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 200 {
		t.Fatalf("old snapshot lost: %d", r.status)
	}
	revoked := f.cfg
	revoked.Version++
	revoked.Keys = nil // the key was revoked
	if err := f.gw.Load(revoked); err != nil {
		t.Fatal(err)
	}
	if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 401 {
		t.Fatalf("revoked key still works: %d", r.status)
	}
}

func TestNotReadyBeforeTheFirstSnapshot(t *testing.T) {
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/x/y", nil))
	if rec.Code != 503 || g.Ready() || !strings.Contains(rec.Body.String(), "gateway_not_ready") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestPrometheusSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := New(Options{Log: slog.New(slog.DiscardHandler), Registry: reg})
	if err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "d", OrgID: "o", Context: "down", Version: "v1", Default: true,
		State: snapshot.StatePublished, Backends: []string{"http://127.0.0.1:1"}}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/down/x", nil))
	}
	if got := testutil.ToFloat64(g.metrics.requests.WithLabelValues("down/v1", "5xx")); got != 2 {
		t.Fatalf("5xx calls counted %v", got)
	}
	if got := testutil.ToFloat64(g.metrics.upstream.WithLabelValues("down/v1", "unavailable")); got != 2 {
		t.Fatalf("upstream errors counted %v", got)
	}
}

func TestMeteringEvents(t *testing.T) {
	f := newFixture(t)
	for len(f.events) > 0 {
		<-f.events
	}
	f.call("GET", "/pets/v1/pets/5", "apikey", "good-key")
	select {
	case e := <-f.events:
		if e.APIID != "pets-v1" || e.ApplicationID != "app1" || e.SubscriptionID != "sub1" || e.Status != 200 || e.Operation != "GET /pets/{id}" || e.Latency <= 0 {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
	f.call("GET", "/pets/v1/pets", "apikey", "nope")
	if e := <-f.events; e.Status != 401 || e.APIID != "pets-v1" {
		t.Fatalf("refusal event %+v", e)
	}
}

func TestQuotaExceededNamesTheQuota(t *testing.T) {
	f := newFixture(t)
	f.cfg.Tiers = append(f.cfg.Tiers, snapshot.Tier{OrgID: "org1", Name: "Daily", Requests: 1, Per: "day"})
	f.cfg.Subscriptions[0].Tier = "Daily"
	if err := f.gw.Load(f.cfg); err != nil {
		t.Fatal(err)
	}
	if r := f.call("GET", "/pets/v1/pets", "apikey", "good-key"); r.status != 200 {
		t.Fatal(r.status)
	}
	r := f.call("GET", "/pets/v1/pets", "apikey", "good-key")
	if r.status != 429 || r.code != "quota_exceeded" || r.header.Get("Retry-After") == "" {
		t.Fatalf("%d %s %v", r.status, r.body, r.header)
	}
}

// TestProxiedDocumentsAreSandboxed: the gateway serves on Portico's own
// origin, so an answer a browser renders as a document (HTML, SVG, XML, or
// no type at all) comes with a CSP sandbox, added to the backend's own
// policy; JSON does not; every answer, mocks included, forbids sniffing.
func TestProxiedDocumentsAreSandboxed(t *testing.T) {
	for _, tc := range []struct {
		ct, own string
		sandbox bool
	}{
		{"text/html; charset=utf-8", "", true},
		{"image/svg+xml", "", true},
		{"application/xml", "", true},
		{"", "", true},
		{"text/html", "default-src 'self'", true},
		{"application/json", "", false},
		{"text/plain", "", false},
	} {
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.ct == "" {
				w.Header()["Content-Type"] = nil // no type, and none sniffed
			} else {
				w.Header().Set("Content-Type", tc.ct)
			}
			if tc.own != "" {
				w.Header().Set("Content-Security-Policy", tc.own)
			}
			io.WriteString(w, `<script>fetch("/admin")</script>`)
		}))
		g := New(Options{Log: slog.New(slog.DiscardHandler)})
		if err := g.Load(snapshot.Config{Version: 1, APIs: []snapshot.API{{ID: "site", OrgID: "o", Context: "site", Version: "v1", Default: true,
			State: snapshot.StatePublished, Backends: []string{backend.URL}}}}); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", "/site/page", nil))
		csp := rec.Header().Values("Content-Security-Policy")
		sandboxed := slices.ContainsFunc(csp, func(v string) bool { return strings.HasPrefix(v, "sandbox") })
		if rec.Code != 200 || sandboxed != tc.sandbox || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%q: %d, CSP %q, nosniff %q; want sandbox %v", tc.ct, rec.Code, csp, rec.Header().Get("X-Content-Type-Options"), tc.sandbox)
		}
		if tc.own != "" && !slices.Contains(csp, tc.own) {
			t.Errorf("the backend's own policy was dropped: %q", csp)
		}
		g.Close()
		backend.Close()
	}
	f := newFixture(t)
	if r := f.call("GET", "/proto/v1/pets/9"); r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("mock answer without nosniff: %v", r.header)
	}
}
