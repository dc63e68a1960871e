package heroku_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/catalog"
	"portico/internal/config"
	"portico/internal/heroku"
	"portico/internal/heroku/herokutest"
	"portico/internal/store/storetest"
)

const (
	addonID      = "portico"
	addonPW      = "partner-password-partner-password-partner-pw"
	ssoSalt      = "2f97bfa52ca102f8874716e2eb1d3b4920ad0be4"
	clientSecret = "oauth-client-secret"
)

// env is a Portico with the add-on on, a fake Heroku, and a stand-in for the
// Heroku app that records what reaches it.
type env struct {
	s    *apptest.Server
	fake *herokutest.Fake
	app  *standIn
}

func start(t *testing.T, dialect string) *env {
	t.Helper()
	fake := herokutest.New(t, clientSecret)
	s := apptest.Start(t, dialect, func(c *config.Config) {
		c.Heroku = config.Heroku{AddonID: addonID, AddonPassword: addonPW, SSOSalt: ssoSalt, ClientSecret: clientSecret,
			APIBase: fake.URL, IDBase: fake.URL}
	})
	return &env{s: s, fake: fake, app: newStandIn(t)}
}

// each runs fn on SQLite and PostgreSQL, each with its own Portico and fakes.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, start(t, d)) })
	}
}

// standIn is the Heroku app: it answers 200 and remembers the requests.
type standIn struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newStandIn(t *testing.T) *standIn {
	b := &standIn{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Clone(context.Background()))
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *standIn) requests() []*http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*http.Request(nil), b.seen...)
}

// partner sends a partner-API request the way Heroku does.
func (e *env) partner(t *testing.T, method, path string, body any, user, pass string) *apptest.Response {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.heroku-addons+json; version=3")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	return e.s.Send(t, req)
}

func (e *env) heroku(t *testing.T, method, path string, body any) *apptest.Response {
	t.Helper()
	return e.partner(t, method, path, body, addonID, addonPW)
}

// provisionBody is Heroku's v3 request for a new add-on of app, registered
// with the fake (so its grant code works).
func (e *env) provisionBody(uuid, appName, plan string, options map[string]any) map[string]any {
	name := "portico-" + uuid[:8]
	code := e.fake.AddAddon(uuid, name, appName, plan)
	if options == nil {
		options = map[string]any{}
	}
	return map[string]any{
		"uuid": uuid, "name": name, "plan": plan, "region": "amazon-web-services::us-east-1",
		"callback_url": e.fake.URL + "/addons/" + uuid, "options": options,
		"oauth_grant":   map[string]string{"code": code, "expires_at": time.Now().Add(5 * time.Minute).Format("2006-01-02T15:04:05-0700"), "type": "authorization_code"},
		"log_input_url": "https://token:t.abc@1.us.logplex.io/logs", "something_new": map[string]any{"x": 1},
	}
}

type provisionAnswer struct {
	ID      string            `json:"id"`
	Message string            `json:"message"`
	Config  map[string]string `json:"config"`
}

func message(t *testing.T, r *apptest.Response) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal(r.Body, &m); err != nil || m.Message == "" {
		t.Fatalf("body is not Heroku's {\"message\"} shape: %d %s", r.Status, r.Body)
	}
	return m.Message
}

func eventually(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) resource(t *testing.T, uuid string) heroku.Resource {
	t.Helper()
	res, err := e.s.App.Heroku().Resource(context.Background(), uuid)
	if err != nil {
		t.Fatalf("resource %s: %v", uuid, err)
	}
	return res
}

func (e *env) api(t *testing.T, res heroku.Resource) catalog.API {
	t.Helper()
	a, err := e.s.App.Catalog().API(context.Background(), account.Principal{OrgID: res.OrgID, Role: account.RoleAdmin}, res.APIID)
	if err != nil {
		t.Fatalf("API of %s: %v", res.UUID, err)
	}
	return a
}

func tiers(a catalog.API) string {
	var ts []string
	_ = json.Unmarshal([]byte(a.Tiers), &ts)
	return strings.Join(ts, ",")
}

// TestSyncProvisioningPlanChangeAndDeprovision drives a test-plan add-on
// through its life the way Heroku does.
func TestSyncProvisioningPlanChangeAndDeprovision(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const id = "0a1b2c3d-0000-4000-8000-000000000001"
		body := e.provisionBody(id, "shiny-app", "test", map[string]any{"backend_url": e.app.URL})
		r := e.heroku(t, "POST", "/heroku/resources", body)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("provision: %d %v %s", r.Status, r.Header, r.Body)
		}
		var ans provisionAnswer
		r.JSON(t, &ans)
		if ans.ID != id || ans.Message == "" || len(ans.Config) != 2 || ans.Config[heroku.VarBackendSecret] == "" {
			t.Fatalf("provision answer: %+v", ans)
		}

		res := e.resource(t, id)
		if res.State != heroku.StateProvisioned || res.Plan != "test" {
			t.Fatalf("resource: %+v", res)
		}
		org, err := e.s.App.Accounts().Org(context.Background(), res.OrgID)
		if err != nil || org.Name != "portico-0a1b2c3d" {
			t.Fatalf("organisation: %+v %v", org, err)
		}
		a := e.api(t, res)
		cred, err := e.s.App.Catalog().BackendCredential(a)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case a.State != catalog.StatePublished:
			t.Errorf("API state %s, want PUBLISHED", a.State)
		case a.BackendURL() != e.app.URL:
			t.Errorf("backend %q, want %q", a.BackendURL(), e.app.URL)
		case cred.Type != "header" || cred.Name != heroku.SecretHeader || cred.Secret != ans.Config[heroku.VarBackendSecret]:
			t.Errorf("backend credential %s %s (secret matches: %v)", cred.Type, cred.Name, cred.Secret == ans.Config[heroku.VarBackendSecret])
		case tiers(a) != "Bronze" || !a.DefaultVersion || !strings.Contains(a.AuthTypes, "api_key") || strings.Contains(a.AuthTypes, "oauth2"):
			t.Errorf("API tiers %s default %v auth %s", tiers(a), a.DefaultVersion, a.AuthTypes)
		case ans.Config[heroku.VarURL] != e.s.App.Catalog().GatewayURL(a):
			t.Errorf("PORTICO_URL %q, want %q", ans.Config[heroku.VarURL], e.s.App.Catalog().GatewayURL(a))
		}
		// The grant is exchanged in the background, so later Platform API calls work.
		eventually(t, 15*time.Second, "grant exchange", func() bool { return e.fake.Count(herokutest.RouteToken, true) == 1 })

		t.Run("a repeated request replays the first answer and creates nothing", func(t *testing.T) {
			r2 := e.heroku(t, "POST", "/heroku/resources", body)
			if r2.Status != http.StatusOK || !bytes.Equal(bytes.TrimSpace(r2.Body), bytes.TrimSpace(r.Body)) {
				t.Fatalf("replay: %d %s, first was %s", r2.Status, r2.Body, r.Body)
			}
			if again := e.resource(t, id); again.OrgID != res.OrgID || again.APIID != res.APIID {
				t.Fatalf("replay made a new resource: %+v", again)
			}
		})

		t.Run("a call through PORTICO_URL with a subscription key reaches the app with the secret", func(t *testing.T) {
			ctx := context.Background()
			founder := account.Principal{OrgID: res.OrgID, Role: account.RoleAdmin}
			if _, err := e.s.App.Accounts().CreateUser(ctx, founder, account.NewUser{Email: "dev@shiny.example.com", Password: "dev-password-1", Role: account.RoleDeveloper}); err != nil {
				t.Fatal(err)
			}
			dev := e.s.Token(t, "dev@shiny.example.com", "dev-password-1")
			var app struct{ ID string }
			mustDo(t, e.s, "POST", "/api/v1/applications", dev, map[string]any{"name": "client"}, 201).JSON(t, &app)
			var key struct{ Key string }
			mustDo(t, e.s, "POST", "/api/v1/applications/"+app.ID+"/keys", dev, nil, 201).JSON(t, &key)
			mustDo(t, e.s, "POST", "/api/v1/subscriptions", dev, map[string]any{"application_id": app.ID, "api_id": res.APIID, "tier": "Bronze"}, 201)
			u, _ := url.Parse(ans.Config[heroku.VarURL])
			var got *apptest.Response
			eventually(t, 5*time.Second, "the gateway serves the key", func() bool {
				req, _ := http.NewRequest("GET", e.s.URL+u.Path+"/hello", nil)
				req.Header.Set("apikey", key.Key)
				got = e.s.Send(t, req)
				return got.Status == http.StatusOK
			})
			seen := e.app.requests()
			last := seen[len(seen)-1]
			if last.URL.Path != "/hello" || last.Header.Get(heroku.SecretHeader) != ans.Config[heroku.VarBackendSecret] || last.Header.Get("apikey") != "" {
				t.Fatalf("the app saw %s with secret %v and apikey %q", last.URL.Path, last.Header.Get(heroku.SecretHeader) != "", last.Header.Get("apikey"))
			}
		})

		t.Run("plan changes", func(t *testing.T) {
			cases := []struct {
				name, plan string
				status     int
				tier, msg  string
			}{
				{"upgrade moves the API to the plan's tier", "starter", 200, "Silver", "Moved from test to starter."},
				{"the same plan is a no-op", "starter", 200, "Silver", "Already on the starter plan."},
				{"to pro", "portico:pro", 200, "Gold", "Moved from starter to pro."},
				{"an unknown plan is refused", "platinum", 422, "Gold", ""},
			}
			for _, c := range cases {
				r := e.heroku(t, "PUT", "/heroku/resources/"+id, map[string]any{"plan": c.plan, "uuid": id, "heroku_id": "app123@heroku.com"})
				m := message(t, r)
				if r.Status != c.status || (c.msg != "" && m != c.msg) {
					t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
				}
				if got := tiers(e.api(t, e.resource(t, id))); got != c.tier {
					t.Fatalf("%s: tiers %s, want %s", c.name, got, c.tier)
				}
			}
		})

		t.Run("deprovision tears down, then the resource is gone", func(t *testing.T) {
			if r := e.heroku(t, "DELETE", "/heroku/resources/"+id, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
				t.Fatalf("deprovision: %d %s", r.Status, r.Body)
			}
			if got := e.resource(t, id); got.State != heroku.StateDeprovisioned || got.AccessToken != "" || got.RefreshToken != "" {
				t.Fatalf("after deprovision: state %s, tokens kept: %v", got.State, got.AccessToken != "")
			}
			if _, err := e.s.App.Catalog().API(context.Background(), account.Principal{OrgID: res.OrgID, Role: account.RoleAdmin}, res.APIID); err == nil {
				t.Fatal("the API survived deprovisioning")
			}
			u, _ := url.Parse(ans.Config[heroku.VarURL])
			eventually(t, 5*time.Second, "the gateway stops serving", func() bool {
				return e.s.Do(t, "GET", u.Path+"/hello", "", nil).Status == http.StatusNotFound
			})
			if _, err := e.s.App.Accounts().IssueToken(context.Background(), "dev@shiny.example.com", "dev-password-1", ""); err == nil {
				t.Fatal("a user of the deprovisioned organisation can still log in")
			}
			for _, m := range []string{"DELETE", "PUT"} {
				r := e.heroku(t, m, "/heroku/resources/"+id, map[string]string{"plan": "test"})
				if r.Status != http.StatusGone {
					t.Fatalf("%s after deprovision: %d %s", m, r.Status, r.Body)
				}
				message(t, r)
			}
		})
	})
}

func mustDo(t *testing.T, s *apptest.Server, method, path, token string, body any, want int) *apptest.Response {
	t.Helper()
	r := s.Do(t, method, path, token, body)
	if r.Status != want {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r
}

// TestAsyncProvisioning: the pro plan answers 202, then a durable job
// exchanges the grant, checks the app answers, publishes, sets the config vars
// through the Platform API and marks the add-on provisioned, retrying through
// injected failures.
func TestAsyncProvisioning(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const id = "0a1b2c3d-0000-4000-8000-000000000002"
		e.fake.FailNext(herokutest.RouteToken, 1, http.StatusServiceUnavailable)
		e.fake.FailNext(herokutest.RouteConfig, 2, http.StatusInternalServerError)
		body := e.provisionBody(id, "pro-app", "pro", map[string]any{"backend_url": e.app.URL})
		r := e.heroku(t, "POST", "/heroku/resources", body)
		var ans provisionAnswer
		r.JSON(t, &ans)
		if r.Status != http.StatusAccepted || ans.ID != id || ans.Message == "" || ans.Config != nil {
			t.Fatalf("provision: %d %s", r.Status, r.Body)
		}
		if res := e.resource(t, id); res.State != heroku.StateProvisioning || e.api(t, res).State != catalog.StateCreated {
			t.Fatalf("before the job: %s / %s", res.State, e.api(t, res).State)
		}
		if r2 := e.heroku(t, "POST", "/heroku/resources", body); r2.Status != http.StatusAccepted || !bytes.Equal(r2.Body, r.Body) {
			t.Fatalf("replay: %d %s", r2.Status, r2.Body)
		}

		eventually(t, 40*time.Second, "asynchronous provisioning", func() bool {
			a, _ := e.fake.Addon(id)
			return a.State == "provisioned" && e.resource(t, id).State == heroku.StateProvisioned
		})
		res := e.resource(t, id)
		a := e.api(t, res)
		cred, _ := e.s.App.Catalog().BackendCredential(a)
		fa, _ := e.fake.Addon(id)
		if res.State != heroku.StateProvisioned || a.State != catalog.StatePublished {
			t.Fatalf("after the job: resource %s, API %s", res.State, a.State)
		}
		if fa.Config[heroku.VarURL] != e.s.App.Catalog().GatewayURL(a) || fa.Config[heroku.VarBackendSecret] != cred.Secret || len(fa.Config) != 2 {
			t.Fatalf("config vars Heroku got: %v", fa.Config)
		}
		if got := tiers(a); got != "Gold" {
			t.Fatalf("tiers %s", got)
		}
		if n, ok := e.fake.Count(herokutest.RouteToken, false), e.fake.Count(herokutest.RouteToken, true); n != 2 || ok != 1 {
			t.Errorf("token calls %d (ok %d), want 2 (1): one injected failure, then the exchange", n, ok)
		}
		if n, ok := e.fake.Count(herokutest.RouteConfig, false), e.fake.Count(herokutest.RouteConfig, true); n != 3 || ok != 1 {
			t.Errorf("config calls %d (ok %d), want 3 (1)", n, ok)
		}
		if n := e.fake.Count(herokutest.RouteProvision, true); n != 1 {
			t.Errorf("provision actions %d, want 1", n)
		}
		// The wire format: form-encoded exchange with the client secret; JSON
		// Platform API calls with Heroku's version header and the bearer token.
		var sawConfig, sawProvision bool
		for _, c := range e.fake.Calls() {
			switch c.Route {
			case herokutest.RouteToken:
				if c.Form.Get("grant_type") != "authorization_code" || c.Form.Get("client_secret") != clientSecret || c.Form.Get("code") == "" {
					t.Errorf("token call form %v", c.Form)
				}
			case herokutest.RouteConfig:
				sawConfig = true
				if !strings.HasPrefix(c.Auth, "Bearer HRKU-") || c.Path != "/addons/"+id+"/config" {
					t.Errorf("config call %s auth %q", c.Path, c.Auth)
				}
			case herokutest.RouteProvision:
				sawProvision = true
			}
		}
		if !sawConfig || !sawProvision {
			t.Fatal("missing Platform API calls")
		}
		// The app was checked before going live, with the secret.
		checked := false
		for _, req := range e.app.requests() {
			checked = checked || req.Header.Get(heroku.SecretHeader) == cred.Secret
		}
		if !checked {
			t.Error("the app's backend was not checked with the secret header")
		}

		t.Run("a spent grant fails the job for good", func(t *testing.T) {
			const bad = "0a1b2c3d-0000-4000-8000-000000000022"
			body := e.provisionBody(bad, "bad-app", "pro", map[string]any{"backend_url": e.app.URL})
			body["oauth_grant"] = map[string]string{"code": "spent", "type": "authorization_code"}
			if r := e.heroku(t, "POST", "/heroku/resources", body); r.Status != http.StatusAccepted {
				t.Fatalf("provision: %d %s", r.Status, r.Body)
			}
			eventually(t, 20*time.Second, "the job gives up", func() bool { return e.resource(t, bad).State == heroku.StateFailed })
			if fa, _ := e.fake.Addon(bad); fa.State != "provisioning" || len(fa.Config) != 0 {
				t.Fatalf("Heroku was told: %+v", fa)
			}
		})
	})
}

// TestSyncProvisioningFindsTheApp: with no option naming the backend, the
// setup job asks the Platform API which app the add-on belongs to and
// publishes the API in front of https://<app>.herokuapp.com, refreshing the
// access token when Heroku refuses it or when it is about to expire.
func TestSyncProvisioningFindsTheApp(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		cases := []struct {
			name, id string
			prepare  func()
			// refused is how many add-on info calls Heroku should refuse.
			refused int
		}{
			{"a refused token is refreshed and the call retried", "0a1b2c3d-0000-4000-8000-000000000003",
				func() { e.fake.FailNext(herokutest.RouteAddon, 1, http.StatusUnauthorized) }, 1},
			{"a token about to expire is refreshed first", "0a1b2c3d-0000-4000-8000-000000000013",
				func() { e.fake.SetTokenTTL(2 * time.Minute) }, 0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := refreshCount(e.fake)
				c.prepare()
				r := e.heroku(t, "POST", "/heroku/resources", e.provisionBody(c.id, "app-"+c.id[30:], "starter", nil))
				var ans provisionAnswer
				r.JSON(t, &ans)
				if r.Status != http.StatusOK || ans.Config[heroku.VarURL] == "" {
					t.Fatalf("provision: %d %s", r.Status, r.Body)
				}
				eventually(t, 20*time.Second, "app discovery", func() bool {
					return e.api(t, e.resource(t, c.id)).State == catalog.StatePublished
				})
				res := e.resource(t, c.id)
				if a := e.api(t, res); a.BackendURL() != "https://app-"+c.id[30:]+".herokuapp.com" || res.AppName != "app-"+c.id[30:] || tiers(a) != "Silver" {
					t.Fatalf("API backend %q, app %q, tiers %s", a.BackendURL(), res.AppName, tiers(a))
				}
				refreshes, refused := refreshCount(e.fake)-before, 0
				for _, call := range e.fake.Calls() {
					if call.Route == herokutest.RouteAddon && call.Path == "/addons/"+c.id && call.Status == http.StatusUnauthorized {
						refused++
					}
				}
				if refreshes == 0 || refused != c.refused {
					t.Fatalf("refreshes %d, refused calls %d (want %d)", refreshes, refused, c.refused)
				}
			})
		}
	})
}

func refreshCount(f *herokutest.Fake) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Route == herokutest.RouteToken && c.Form.Get("grant_type") == "refresh_token" && c.Status == 200 {
			n++
		}
	}
	return n
}

// TestConcurrentDuplicateProvisionsCreateOneResource: Heroku delivers at least
// once, sometimes at the same moment.
func TestConcurrentDuplicateProvisionsCreateOneResource(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const id = "0a1b2c3d-0000-4000-8000-000000000005"
		body := e.provisionBody(id, "dup-app", "test", map[string]any{"app": "dup-app"})
		const n = 6
		answers := make([]*apptest.Response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = e.heroku(t, "POST", "/heroku/resources", body)
			}()
		}
		wg.Wait()
		for i, r := range answers {
			if r.Status != http.StatusOK || !bytes.Equal(r.Body, answers[0].Body) {
				t.Fatalf("answer %d: %d %s; first was %s", i, r.Status, r.Body, answers[0].Body)
			}
		}
		res := e.resource(t, id)
		org, err := e.s.App.Accounts().Org(context.Background(), res.OrgID)
		if err != nil || org.Slug != "dup-app" {
			t.Fatalf("organisation %+v %v", org, err)
		}
		if _, err := e.s.App.Accounts().OrgBySlug(context.Background(), "heroku-0a1b2c3d000040008000000000000005"); err == nil {
			t.Fatal("a duplicate made a second organisation")
		}
	})
}

// TestPartnerAPIRefusesBadInput: every bad request gets the status the partner
// contract names, in Heroku's {"message"} shape, and never a 5xx.
func TestPartnerAPIRefusesBadInput(t *testing.T) {
	e := start(t, "sqlite")
	const known = "0a1b2c3d-0000-4000-8000-000000000004"
	if r := e.heroku(t, "POST", "/heroku/resources", e.provisionBody(known, "x-app", "test", map[string]any{"app": "x-app"})); r.Status != 200 {
		t.Fatalf("provision: %d %s", r.Status, r.Body)
	}
	good := `{"uuid":"0a1b2c3d-0000-4000-8000-0000000000ff","plan":"test","name":"n","options":{"app":"some-app"}}`
	cases := []struct {
		name, method, path string
		body               any
		user, pass         string
		want               int
	}{
		{"no auth", "POST", "/heroku/resources", good, "", "", 401},
		{"wrong password", "POST", "/heroku/resources", good, addonID, "wrong", 401},
		{"wrong id", "POST", "/heroku/resources", good, "other", addonPW, 401},
		{"password as id", "POST", "/heroku/resources", good, addonPW, addonID, 401},
		{"no auth on plan change", "PUT", "/heroku/resources/" + known, `{"plan":"pro"}`, "", "", 401},
		{"no auth on deprovision", "DELETE", "/heroku/resources/" + known, nil, "", "", 401},
		{"malformed JSON", "POST", "/heroku/resources", `{"uuid":`, addonID, addonPW, 400},
		{"a JSON array", "POST", "/heroku/resources", `[1,2]`, addonID, addonPW, 400},
		{"empty body", "POST", "/heroku/resources", "", addonID, addonPW, 400},
		{"uuid of the wrong type", "POST", "/heroku/resources", `{"uuid":12,"plan":"test"}`, addonID, addonPW, 400},
		{"no uuid", "POST", "/heroku/resources", `{"plan":"test"}`, addonID, addonPW, 422},
		{"uuid not a UUID", "POST", "/heroku/resources", `{"uuid":"abc","plan":"test"}`, addonID, addonPW, 422},
		{"unknown plan", "POST", "/heroku/resources", `{"uuid":"0a1b2c3d-0000-4000-8000-0000000000fe","plan":"basic"}`, addonID, addonPW, 422},
		{"no plan", "POST", "/heroku/resources", `{"uuid":"0a1b2c3d-0000-4000-8000-0000000000fe"}`, addonID, addonPW, 422},
		{"bad backend option", "POST", "/heroku/resources", `{"uuid":"0a1b2c3d-0000-4000-8000-0000000000fe","plan":"test","options":{"backend_url":"ftp://x"}}`, addonID, addonPW, 422},
		{"option of the wrong type", "POST", "/heroku/resources", `{"uuid":"0a1b2c3d-0000-4000-8000-0000000000fe","plan":"test","options":{"app":["x"]}}`, addonID, addonPW, 422},
		{"options not an object", "POST", "/heroku/resources", `{"uuid":"0a1b2c3d-0000-4000-8000-0000000000fe","plan":"test","options":"x"}`, addonID, addonPW, 400},
		{"oversized body", "POST", "/heroku/resources", `{"uuid":"` + strings.Repeat("a", 70<<10) + `"}`, addonID, addonPW, 413},
		{"plan change of an unknown id", "PUT", "/heroku/resources/0a1b2c3d-0000-4000-8000-0000000000fd", `{"plan":"pro"}`, addonID, addonPW, 404},
		{"plan change to an unknown plan", "PUT", "/heroku/resources/" + known, `{"plan":"mega"}`, addonID, addonPW, 422},
		{"plan change with malformed JSON", "PUT", "/heroku/resources/" + known, `plan=pro`, addonID, addonPW, 400},
		{"plan change with no body", "PUT", "/heroku/resources/" + known, "", addonID, addonPW, 400},
		{"deprovision of an unknown id", "DELETE", "/heroku/resources/0a1b2c3d-0000-4000-8000-0000000000fd", nil, addonID, addonPW, 404},
		{"deprovision of a non-UUID id", "DELETE", "/heroku/resources/not-a-uuid", nil, addonID, addonPW, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.partner(t, c.method, c.path, c.body, c.user, c.pass)
			if r.Status != c.want {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, c.want)
			}
			message(t, r)
			if c.want == 401 && r.Header.Get("WWW-Authenticate") != `Basic realm="heroku"` {
				t.Fatalf("401 without WWW-Authenticate: %v", r.Header)
			}
		})
	}
	if _, err := e.s.App.Heroku().Resource(context.Background(), "0a1b2c3d-0000-4000-8000-0000000000ff"); err == nil {
		t.Fatal("an unauthenticated provision created a resource")
	}
}

// TestHerokuPathsAre404WhenTheAddonIsOff: CONTRACT §2.
func TestHerokuPathsAre404WhenTheAddonIsOff(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	for _, c := range []struct{ method, path string }{
		{"POST", "/heroku/resources"}, {"PUT", "/heroku/resources/x"}, {"DELETE", "/heroku/resources/x"},
		{"POST", "/heroku/sso"}, {"GET", "/heroku/sso"}, {"GET", "/heroku/anything"},
	} {
		req, _ := http.NewRequest(c.method, s.URL+c.path, strings.NewReader(`{}`))
		req.SetBasicAuth(addonID, addonPW)
		if r := s.Send(t, req); r.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", c.method, c.path, r.Status)
		}
	}
}

// sso builds Heroku's SSO form for a resource.
type ssoForm = url.Values

func v3Form(uuid, userID, email string, ts time.Time) ssoForm {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	return ssoForm{
		"resource_id": {uuid}, "resource_token": {heroku.LegacyToken(uuid, ssoSalt, stamp)},
		"user_scoped_resource_token": {heroku.UserScopedToken(uuid, ssoSalt, stamp, userID, email)},
		"id":                         {uuid}, "token": {heroku.LegacyToken(uuid, ssoSalt, stamp)},
		"timestamp": {stamp}, "user_id": {userID}, "email": {email}, "app": {"shiny-app"}, "context_app": {"shiny-app"},
		"nav-data": {"eyJhZGRvbiI6IlBvcnRpY28iLCJhcHBuYW1lIjoic2hpbnktYXBwIn0"},
	}
}

func postSSO(t *testing.T, e *env, client *http.Client, form ssoForm) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.s.URL+"/heroku/sso", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestSingleSignOn: Heroku's dashboard posts the SSO form; good tokens sign
// the user into their add-on's publisher, everything else is a 403.
func TestSingleSignOn(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const a, b = "0a1b2c3d-0000-4000-8000-00000000000a", "0a1b2c3d-0000-4000-8000-00000000000b"
		for _, id := range []string{a, b} {
			if r := e.heroku(t, "POST", "/heroku/resources", e.provisionBody(id, "app-"+id[34:], "test", map[string]any{"backend_url": e.app.URL})); r.Status != 200 {
				t.Fatalf("provision %s: %d %s", id, r.Status, r.Body)
			}
		}
		resA, resB := e.resource(t, a), e.resource(t, b)
		const user, email = "11111111-2222-3333-4444-555555555555", "owner@shiny.example.com"

		browser := e.s.Browser(t)
		resp := postSSO(t, e, browser, v3Form(a, user, email, time.Now()))
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/publisher" {
			t.Fatalf("SSO: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var session, nav *http.Cookie
		for _, c := range resp.Cookies() {
			switch c.Name {
			case account.SessionCookie:
				session = c
			case heroku.NavCookie:
				nav = c
			}
		}
		if session == nil || !session.HttpOnly || nav == nil || nav.Value != v3Form(a, user, email, time.Now()).Get("nav-data") {
			t.Fatalf("cookies: session %+v nav %+v", session, nav)
		}
		get := func(c *http.Client, path string) *http.Response {
			req, _ := http.NewRequest("GET", e.s.URL+path, nil)
			req.Header.Set("Accept", "text/html")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := get(browser, "/publisher"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/publisher/apis" {
			t.Fatalf("/publisher with the SSO session: %d to %q", r.StatusCode, r.Header.Get("Location"))
		}
		if r := get(browser, "/publisher/apis/"+resA.APIID); r.StatusCode != http.StatusOK {
			t.Fatalf("own API page: %d", r.StatusCode)
		}
		if r := get(browser, "/publisher/apis/"+resB.APIID); r.StatusCode != http.StatusNotFound {
			t.Fatalf("another add-on's API page: %d, want 404", r.StatusCode)
		}

		t.Run("the same Heroku user is the same Portico user next time", func(t *testing.T) {
			// Tokens are single-use and timestamps have whole seconds: every
			// sign-in here uses its own timestamp, well apart from the others.
			c := e.s.Browser(t)
			if r := postSSO(t, e, c, v3Form(a, user, email, time.Now().Add(-90*time.Second))); r.StatusCode != http.StatusFound {
				t.Fatalf("second SSO: %d", r.StatusCode)
			}
		})

		t.Run("the same person on another add-on gets a separate account there", func(t *testing.T) {
			c := e.s.Browser(t)
			if r := postSSO(t, e, c, v3Form(b, user, email, time.Now())); r.StatusCode != http.StatusFound {
				t.Fatalf("SSO into b: %d", r.StatusCode)
			}
			if r := get(c, "/publisher/apis/"+resB.APIID); r.StatusCode != http.StatusOK {
				t.Fatalf("b's API page: %d", r.StatusCode)
			}
			if r := get(c, "/publisher/apis/"+resA.APIID); r.StatusCode != http.StatusNotFound {
				t.Fatalf("a's API page from b's session: %d, want 404", r.StatusCode)
			}
		})

		t.Run("an address taken by another organisation's user is left alone", func(t *testing.T) {
			c := e.s.Browser(t)
			if r := postSSO(t, e, c, v3Form(b, "99999999-2222-3333-4444-555555555555", apptest.AdminEmail, time.Now())); r.StatusCode != http.StatusFound {
				t.Fatalf("SSO: %d", r.StatusCode)
			}
			// Signed in to b under an alias; the installation's admin keeps
			// their account, organisation and password.
			if r := get(c, "/publisher/apis/"+resB.APIID); r.StatusCode != http.StatusOK {
				t.Fatalf("b's API page: %d", r.StatusCode)
			}
			admin := e.s.AdminToken(t)
			var me struct{ Email, Role string }
			mustDo(t, e.s, "GET", "/api/v1/me", admin, nil, 200).JSON(t, &me)
			if me.Email != apptest.AdminEmail || me.Role != "admin" {
				t.Fatalf("the admin changed: %+v", me)
			}
			if r := e.s.Do(t, "GET", "/api/v1/apis/"+resB.APIID, admin, nil); r.Status != http.StatusNotFound {
				t.Fatalf("the default organisation's admin sees b's API: %d", r.Status)
			}
		})

		t.Run("legacy GET SSO and an open redirect", func(t *testing.T) {
			c := e.s.Browser(t)
			f := v3Form(a, user, email, time.Now().Add(-150*time.Second))
			q := url.Values{"token": f["token"], "timestamp": f["timestamp"], "email": {email}, "next": {"https://evil.example/"}}
			resp := get(c, "/heroku/resources/"+a+"?"+q.Encode())
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/publisher" {
				t.Fatalf("GET SSO: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})

		now := time.Now()
		stale, future := v3Form(a, user, email, now.Add(-6*time.Minute)), v3Form(a, user, email, now.Add(6*time.Minute))
		tampered := v3Form(a, user, email, now.Add(-3*time.Second))
		tampered.Set("user_scoped_resource_token", strings.Repeat("0", 64))
		otherEmail := v3Form(a, user, email, now.Add(-4*time.Second))
		otherEmail.Set("email", "intruder@example.com")
		missing := v3Form(a, user, email, now.Add(-5*time.Second))
		for _, k := range []string{"resource_token", "user_scoped_resource_token", "token"} {
			missing.Del(k)
		}
		noStamp := v3Form(a, user, email, now.Add(-6*time.Second))
		noStamp.Del("timestamp")
		unknown := v3Form("0a1b2c3d-0000-4000-8000-0000000000ee", user, email, now)
		replayed := v3Form(a, user, email, now.Add(-7*time.Second))
		postSSO(t, e, e.s.Browser(t), replayed)
		for _, c := range []struct {
			name string
			form ssoForm
		}{
			{"stale timestamp", stale}, {"future timestamp", future}, {"tampered token", tampered},
			{"token for another e-mail", otherEmail}, {"missing tokens", missing}, {"missing timestamp", noStamp},
			{"unknown resource", unknown}, {"replayed token", replayed},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp := postSSO(t, e, e.s.Browser(t), c.form)
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("%d, want 403", resp.StatusCode)
				}
				for _, ck := range resp.Cookies() {
					if ck.Name == account.SessionCookie && ck.Value != "" {
						t.Fatal("a refused SSO set a session")
					}
				}
			})
		}

		t.Run("after deprovisioning, SSO and old sessions stop", func(t *testing.T) {
			if r := e.heroku(t, "DELETE", "/heroku/resources/"+a, nil); r.Status != 204 {
				t.Fatalf("deprovision: %d %s", r.Status, r.Body)
			}
			if r := postSSO(t, e, e.s.Browser(t), v3Form(a, user, email, time.Now())); r.StatusCode != http.StatusForbidden {
				t.Fatalf("SSO after deprovision: %d", r.StatusCode)
			}
			if r := get(browser, "/publisher"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/portal/login") {
				t.Fatalf("old session after deprovision: %d to %q", r.StatusCode, r.Header.Get("Location"))
			}
		})
	})
}

func TestManifest(t *testing.T) {
	env := map[string]string{
		"PORT": "5000", "PORTICO_BASE_URL": "https://addons.portico.example",
		"HEROKU_ADDON_ID": "portico", "HEROKU_ADDON_PASSWORD": addonPW, "HEROKU_SSO_SALT": ssoSalt,
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := heroku.WriteManifest(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID  string `json:"id"`
		API struct {
			Version          string   `json:"version"`
			Password         string   `json:"password"`
			SSOSalt          string   `json:"sso_salt"`
			ConfigVarsPrefix string   `json:"config_vars_prefix"`
			ConfigVars       []string `json:"config_vars"`
			Regions          []string `json:"regions"`
			Requires         []string `json:"requires"`
			Production       struct {
				BaseURL string `json:"base_url"`
				SSOURL  string `json:"sso_url"`
			} `json:"production"`
			Test struct {
				BaseURL string `json:"base_url"`
				SSOURL  string `json:"sso_url"`
			} `json:"test"`
		} `json:"api"`
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	a := m.API
	switch {
	case m.ID != "portico", a.Version != "3", a.Password != addonPW, a.SSOSalt != ssoSalt, a.ConfigVarsPrefix != "PORTICO":
		t.Fatalf("manifest: %s", buf.String())
	case strings.Join(a.ConfigVars, ",") != "PORTICO_URL,PORTICO_BACKEND_SECRET", len(a.Regions) == 0, a.Requires == nil:
		t.Fatalf("manifest vars/regions/requires: %s", buf.String())
	case a.Production.BaseURL != "https://addons.portico.example/heroku/resources", a.Production.SSOURL != "https://addons.portico.example/heroku/sso":
		t.Fatalf("production URLs: %+v", a.Production)
	case a.Test.BaseURL != "http://localhost:5000/heroku/resources", a.Test.SSOURL != "http://localhost:5000/heroku/sso":
		t.Fatalf("test URLs: %+v", a.Test)
	}
	if err := heroku.WriteManifest(&buf, config.Config{}); err == nil || !strings.Contains(err.Error(), "HEROKU_ADDON_ID") {
		t.Fatalf("manifest without credentials: %v", err)
	}
}
