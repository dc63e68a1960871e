// Package herokutest is a fake Heroku for tests: the identity service's token
// endpoint (grant exchange and refresh) and the Platform API for Partners
// endpoints Portico calls (add-on info, config update, provision and
// deprovision actions), speaking Heroku's documented wire format. It records
// every call and can fail the next N calls of a route, to prove retries.
//
// herokutest imports only the standard library.
package herokutest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Routes, as Calls and FailNext name them.
const (
	RouteToken       = "token"       // POST /oauth/token
	RouteAddon       = "addon"       // GET /addons/{id}
	RouteConfig      = "config"      // PATCH /addons/{id}/config
	RouteProvision   = "provision"   // POST /addons/{id}/actions/provision
	RouteDeprovision = "deprovision" // POST /addons/{id}/actions/deprovision
)

// Call is one request the fake received.
type Call struct {
	Route  string
	Method string
	Path   string
	// Form is the token endpoint's form; Body the Platform API's JSON body.
	Form   url.Values
	Body   []byte
	Accept string
	Auth   string
	Status int
}

// Addon is the fake's record of one add-on resource.
type Addon struct {
	ID      string
	Name    string
	AppID   string
	AppName string
	Plan    string
	State   string // provisioning, provisioned, deprovisioned
	Config  map[string]string
}

type token struct {
	addonID string
	expires time.Time
}

// Fake is a running fake Heroku. Point HEROKU_ID_BASE and HEROKU_API_BASE at URL.
type Fake struct {
	URL          string
	ClientSecret string

	srv    *httptest.Server
	mu     sync.Mutex
	ttl    time.Duration // expires_in of new access tokens
	addons map[string]*Addon
	grants map[string]string // code → add-on id, deleted when used
	access map[string]token
	fresh  map[string]string // refresh token → add-on id
	calls  []Call
	fail   map[string][]int // route → statuses of the next failures
}

// New starts a fake Heroku that accepts clientSecret, closed when the test ends.
func New(t testing.TB, clientSecret string) *Fake {
	f := &Fake{ClientSecret: clientSecret, ttl: 28799 * time.Second,
		addons: map[string]*Addon{}, grants: map[string]string{}, access: map[string]token{}, fresh: map[string]string{}, fail: map[string][]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// AddAddon registers an add-on of app with a one-shot grant code, as Heroku
// does before it sends the provision request, and returns the code.
func (f *Fake) AddAddon(id, name, appName, plan string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	code := randomHex(16)
	f.addons[id] = &Addon{ID: id, Name: name, AppID: randomUUID(), AppName: appName, Plan: plan, State: "provisioning", Config: map[string]string{}}
	f.grants[code] = id
	return code
}

// Addon returns a copy of the add-on's record.
func (f *Fake) Addon(id string) (Addon, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.addons[id]
	if !ok {
		return Addon{}, false
	}
	c := *a
	c.Config = map[string]string{}
	for k, v := range a.Config {
		c.Config[k] = v
	}
	return c, true
}

// SetTokenTTL sets the lifetime of access tokens issued from now on (Heroku's
// are about 8 hours).
func (f *Fake) SetTokenTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ttl = d
}

// FailNext makes the next n calls of route answer status (Heroku's error body).
func (f *Fake) FailNext(route string, n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.fail[route] = append(f.fail[route], status)
	}
}

// ExpireTokens makes every access token issued so far expired, so the next
// Platform API call answers 401 and the client must refresh.
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, t := range f.access {
		t.expires = time.Now().Add(-time.Second)
		f.access[k] = t
	}
}

// Calls returns every call so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Count returns how many calls of route got a 2xx answer (and, with ok
// false, how many got any answer).
func (f *Fake) Count(route string, ok bool) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Route == route && (!ok || c.Status/100 == 2) {
			n++
		}
	}
	return n
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	c := Call{Method: r.Method, Path: r.URL.Path, Accept: r.Header.Get("Accept"), Auth: r.Header.Get("Authorization")}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		c.Route = RouteToken
		c.Form, _ = url.ParseQuery(string(body))
	case len(parts) == 2 && parts[0] == "addons" && r.Method == http.MethodGet:
		c.Route = RouteAddon
	case len(parts) == 3 && parts[0] == "addons" && parts[2] == "config" && r.Method == http.MethodPatch:
		c.Route = RouteConfig
	case len(parts) == 4 && parts[0] == "addons" && parts[2] == "actions" && r.Method == http.MethodPost &&
		(parts[3] == "provision" || parts[3] == "deprovision"):
		c.Route = parts[3]
	}
	if c.Route != RouteToken {
		c.Body = body
	}
	status, out := f.handle(&c, parts, body)
	c.Status = status
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func herokuError(id, msg string) map[string]string {
	return map[string]string{"id": id, "message": msg}
}

func (f *Fake) handle(c *Call, parts []string, body []byte) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.Route == "" {
		return http.StatusNotFound, herokuError("not_found", "The requested API endpoint was not found.")
	}
	if q := f.fail[c.Route]; len(q) > 0 {
		f.fail[c.Route] = q[1:]
		return q[0], herokuError("service_unavailable", "Injected failure.")
	}
	if c.Route == RouteToken {
		return f.token(c.Form)
	}
	if !strings.Contains(c.Accept, "application/vnd.heroku+json; version=3") {
		return http.StatusBadRequest, herokuError("bad_request", "Accept: application/vnd.heroku+json; version=3 is required.")
	}
	tok, ok := f.access[strings.TrimPrefix(c.Auth, "Bearer ")]
	if !ok || !strings.HasPrefix(c.Auth, "Bearer ") || time.Now().After(tok.expires) {
		return http.StatusUnauthorized, herokuError("unauthorized", "Invalid credentials provided.")
	}
	a, ok := f.addons[parts[1]]
	if !ok || tok.addonID != a.ID {
		return http.StatusForbidden, herokuError("forbidden", "You do not have access to the add-on.")
	}
	switch c.Route {
	case RouteConfig:
		var in struct {
			Config []struct {
				Name  string  `json:"name"`
				Value *string `json:"value"`
			} `json:"config"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Config == nil {
			return http.StatusUnprocessableEntity, herokuError("invalid_params", "config must be a list of name/value pairs.")
		}
		for _, v := range in.Config {
			if v.Value == nil {
				delete(a.Config, v.Name)
			} else {
				a.Config[v.Name] = *v.Value
			}
		}
		out := []map[string]string{}
		for k, v := range a.Config {
			out = append(out, map[string]string{"name": k, "value": v})
		}
		return http.StatusOK, out
	case RouteProvision:
		a.State = "provisioned"
	case RouteDeprovision:
		a.State = "deprovisioned"
	}
	return http.StatusOK, addonJSON(a)
}

func (f *Fake) token(form url.Values) (int, any) {
	if form.Get("client_secret") != f.ClientSecret || f.ClientSecret == "" {
		return http.StatusUnauthorized, herokuError("unauthorized", "Invalid OAuth client secret.")
	}
	var addonID string
	switch form.Get("grant_type") {
	case "authorization_code":
		id, ok := f.grants[form.Get("code")]
		if !ok {
			return http.StatusBadRequest, herokuError("invalid_grant", "The grant code is invalid, expired or used.")
		}
		delete(f.grants, form.Get("code"))
		addonID = id
	case "refresh_token":
		id, ok := f.fresh[form.Get("refresh_token")]
		if !ok {
			return http.StatusBadRequest, herokuError("invalid_grant", "The refresh token is invalid.")
		}
		addonID = id
	default:
		return http.StatusBadRequest, herokuError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
	}
	access, refresh := "HRKU-"+randomHex(20), randomHex(20)
	f.access[access] = token{addonID: addonID, expires: time.Now().Add(f.ttl)}
	out := map[string]any{"access_token": access, "expires_in": int64(f.ttl / time.Second), "token_type": "Bearer",
		"user_id": randomUUID(), "session_nonce": nil}
	if form.Get("grant_type") == "authorization_code" {
		f.fresh[refresh] = addonID
		out["refresh_token"] = refresh
	} else {
		out["refresh_token"] = form.Get("refresh_token")
	}
	return http.StatusOK, out
}

func addonJSON(a *Addon) map[string]any {
	vars := []string{}
	for k := range a.Config {
		vars = append(vars, k)
	}
	return map[string]any{
		"id": a.ID, "name": a.Name, "state": a.State, "config_vars": vars,
		"app":           map[string]string{"id": a.AppID, "name": a.AppName},
		"plan":          map[string]string{"id": randomUUID(), "name": "portico:" + a.Plan},
		"addon_service": map[string]string{"name": "portico"},
		"provider_id":   a.ID, "web_url": "https://addons-sso.heroku.com/apps/" + a.AppID + "/addons/" + a.ID,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomUUID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
