package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

// tenant is an organisation with one of every object a route can name, made
// through the management API as its own users would.
type tenant struct {
	slug                  string
	admin, pub, dev       string // tokens
	devEmail              string
	api, op, doc          string // a private, published API with an operation and a document
	tier, app, key, sub   string
	alert, user           string // user: the developer's id
	pat                   string // the id of the developer's personal access token
	clientID, secret, apk string // the application's OAuth client and API key
	// marks are strings that appear only in this tenant's data: a body that
	// holds one has leaked it.
	marks []string
}

// newTenant fills organisation slug (whose admin token is admin) with users,
// an API, an operation, a document, a tier, an application, a key, a
// subscription and an alert rule. mark prefixes every name, so a leak of them
// is recognisable in any page.
func newTenant(t *testing.T, s *apptest.Server, slug, admin, mark string) *tenant {
	t.Helper()
	tn := &tenant{slug: slug, admin: admin, devEmail: "dev@" + slug + ".example.com"}
	tn.pub = s.NewUser(t, admin, "pub@"+slug+".example.com", "publisher")
	tn.dev = s.NewUser(t, admin, tn.devEmail, "developer")
	var obj struct {
		ID           string
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Key          string
	}
	create := func(token, path string, body any) {
		t.Helper()
		obj = struct {
			ID           string
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Key          string
		}{}
		r := s.Do(t, http.MethodPost, path, token, body)
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("%s POST %s: %d %s", slug, path, r.Status, r.Body)
		}
		r.JSON(t, &obj)
	}
	create(tn.pub, "/api/v1/tiers", map[string]any{"name": mark + "Tier", "requests": 1000, "per": "minute"})
	tn.tier = obj.ID
	create(tn.pub, "/api/v1/apis", map[string]any{"name": mark + " Ledger", "context": slug + "-ledger", "version": "v1",
		"backend_url": "http://127.0.0.1:9/ledger", "description": mark + " description", "tags": []string{mark + "-tag"},
		"visibility": "private", "tiers": []string{"Bronze", mark + "Tier"}})
	tn.api = obj.ID
	create(tn.pub, "/api/v1/apis/"+tn.api+"/operations", map[string]any{"method": "GET", "path": "/entries", "summary": mark + " entries"})
	tn.op = obj.ID
	create(tn.pub, "/api/v1/apis/"+tn.api+"/documents", map[string]any{"title": mark + " guide", "body": mark + " guide body"})
	tn.doc = obj.ID
	create(tn.pub, "/api/v1/apis/"+tn.api+"/lifecycle", map[string]string{"action": "publish"})
	create(tn.dev, "/api/v1/applications", map[string]any{"name": mark + "-app", "callback_urls": []string{"https://" + slug + ".example.com/cb"}})
	tn.app, tn.clientID, tn.secret = obj.ID, obj.ClientID, obj.ClientSecret
	create(tn.dev, "/api/v1/applications/"+tn.app+"/keys", map[string]any{"name": mark + "-key"})
	tn.key, tn.apk = obj.ID, obj.Key
	create(tn.dev, "/api/v1/subscriptions", map[string]any{"application_id": tn.app, "api_id": tn.api, "tier": "Bronze"})
	tn.sub = obj.ID
	create(tn.pub, "/api/v1/alerts", map[string]any{"api_id": tn.api, "metric": "requests", "threshold": 1e9, "window": "5m", "webhook_url": "https://hooks.example.com/" + slug})
	tn.alert = obj.ID
	var me struct{ ID string }
	s.Do(t, http.MethodGet, "/api/v1/me", tn.dev, nil).JSON(t, &me)
	tn.user = me.ID
	// The developer's personal access token (the one tn.dev holds), when
	// this build lists them.
	var toks struct{ Items []struct{ ID string } }
	if r := s.Do(t, http.MethodGet, "/api/v1/tokens", tn.dev, nil); r.Status == http.StatusOK {
		r.JSON(t, &toks)
		if len(toks.Items) > 0 {
			tn.pat = toks.Items[0].ID
		}
	}
	tn.marks = []string{mark, tn.api, tn.app, tn.clientID, tn.key, tn.sub, tn.doc, tn.op, tn.alert}
	return tn
}

// leaks returns the first of tn's marks that body holds, or "".
func (tn *tenant) leaks(body []byte) string {
	for _, m := range tn.marks {
		if m != "" && strings.Contains(string(body), m) {
			return m
		}
	}
	return ""
}

// objects are the management-API reads that show tn's state, each with the
// token of a user allowed to read it.
func (tn *tenant) objects() map[string]string {
	return map[string]string{
		"/api/v1/apis/" + tn.api:                           tn.pub,
		"/api/v1/apis/" + tn.api + "/operations":           tn.pub,
		"/api/v1/apis/" + tn.api + "/documents/" + tn.doc:  tn.pub,
		"/api/v1/apis/" + tn.api + "/openapi":              tn.pub,
		"/api/v1/apis/" + tn.api + "/versions":             tn.pub,
		"/api/v1/tiers/" + tn.tier:                         tn.pub,
		"/api/v1/applications/" + tn.app:                   tn.dev,
		"/api/v1/applications/" + tn.app + "/keys":         tn.dev,
		"/api/v1/subscriptions/" + tn.sub:                  tn.dev,
		"/api/v1/alerts/" + tn.alert:                       tn.pub,
		"/api/v1/users/" + tn.user:                         tn.admin,
		"/api/v1/apis/" + tn.api + "/documents":            tn.pub,
		"/api/v1/applications?limit=50":                    tn.dev,
		"/api/v1/subscriptions?api_id=" + tn.api:           tn.pub,
		"/api/v1/users?limit=50":                           tn.admin,
		"/api/v1/tiers?limit=50":                           tn.pub,
		"/api/v1/alerts?limit=50":                          tn.pub,
		"/api/v1/apis?limit=50":                            tn.pub,
		"/api/v1/apis/" + tn.api + "/operations?limit=50":  tn.pub,
		"/api/v1/applications/" + tn.app + "/keys?limit=5": tn.dev,
	}
}

// snapshot reads every object of tn (but users, whose last log-in changes
// as they use the site); compare two snapshots to prove nothing
// changed.
func (tn *tenant) snapshot(t *testing.T, s *apptest.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for path, tok := range tn.objects() {
		if strings.HasPrefix(path, "/api/v1/users") {
			continue // compared by usersOf: last_login_at moves as people log in
		}
		r := s.Do(t, http.MethodGet, path, tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("snapshot %s: %d %s", path, r.Status, r.Body)
		}
		out[path] = string(r.Body)
	}
	return out
}

// usersOf is tn's users with what an attacker would change (role, disabled),
// without the log-in times that move as the test logs people in.
func (tn *tenant) usersOf(t *testing.T, s *apptest.Server) string {
	t.Helper()
	var list struct {
		Items []struct {
			ID, Email, Role string
			Disabled        bool
		}
	}
	s.Do(t, http.MethodGet, "/api/v1/users?limit=50", tn.admin, nil).JSON(t, &list)
	return fmt.Sprintf("%+v", list.Items)
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for path, b := range before {
		if after[path] != b {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", path, b, after[path])
		}
	}
}

// session is a logged-in browser (cookie jar) and the CSRF token its pages carry.
type session struct {
	c    *http.Client
	csrf string
}

// login signs email in through the portal's log-in form.
func login(t *testing.T, s *apptest.Server, email, password string) *session {
	t.Helper()
	b := s.Browser(t)
	_, body := get(t, b, s.URL+"/portal/login")
	tok := csrfFrom(t, body)
	resp, body := postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {tok}, "email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in %s: %d %.300s", email, resp.StatusCode, body)
	}
	return &session{c: b, csrf: tok}
}
