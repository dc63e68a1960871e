package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
)

// apiObject says which of a tenant's objects a path parameter names, by the
// path segment before it.
func apiObject(tn *tenant, prev, param string) (string, bool) {
	switch prev + "/:" + param {
	case "apis/:id":
		return tn.api, true
	case "documents/:doc":
		return tn.doc, true
	case "operations/:op":
		return tn.op, true
	case "applications/:id", "applications/:app":
		return tn.app, true
	case "keys/:key_id", "keys/:key":
		return tn.key, true
	case "subscriptions/:id", "subscriptions/:sub":
		return tn.sub, true
	case "tiers/:id":
		return tn.tier, true
	case "alerts/:id":
		return tn.alert, true
	case "users/:id":
		return tn.user, true
	case "tokens/:id":
		return tn.pat, tn.pat != ""
	case "top/:dimension":
		// Not an object: the dimension is a word; the object is the api_id filter.
		return "applications?api_id=" + tn.api, true
	case ":id/:action":
		return "approve", true
	}
	return "", false
}

// fill puts tn's objects (or, with ghost, ids that never existed) into a
// route's path parameters. org is the slug for :org.
func fill(tn *tenant, path, org string, ghost bool) (string, bool) {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, ":") {
			continue
		}
		name := seg[1:]
		if name == "org" {
			segs[i] = org
			continue
		}
		prev := ""
		if i > 0 {
			prev = segs[i-1]
		}
		if name == "action" {
			prev = ":id"
		}
		v, ok := apiObject(tn, prev, name)
		if !ok {
			return "", false
		}
		switch {
		case !ghost || name == "action":
		case name == "dimension":
			v = "applications?api_id=" + ghostID
		default:
			v = ghostID
		}
		segs[i] = v
	}
	return strings.Join(segs, "/"), true
}

// ghostID is an id no object ever had.
const ghostID = "00000000-0000-4000-8000-00000000dead"

// writeBodies are plausible bodies, so a handler that validates before it
// looks the object up still reaches the look-up.
var writeBodies = map[string]any{
	"PATCH /api/v1/apis/:id":                       map[string]any{"name": "stolen"},
	"POST /api/v1/apis/:id/documents":              map[string]any{"title": "stolen", "body": "stolen"},
	"PATCH /api/v1/apis/:id/documents/:doc":        map[string]any{"title": "stolen"},
	"POST /api/v1/apis/:id/lifecycle":              map[string]any{"action": "block"},
	"PUT /api/v1/apis/:id/openapi":                 map[string]any{"spec": "openapi: 3.0.3\ninfo: {title: stolen, version: v1}\npaths:\n  /stolen:\n    get:\n      responses: {'200': {description: ok}}\n"},
	"POST /api/v1/apis/:id/operations":             map[string]any{"method": "GET", "path": "/stolen"},
	"PATCH /api/v1/apis/:id/operations/:op":        map[string]any{"summary": "stolen"},
	"POST /api/v1/apis/:id/versions":               map[string]any{"version": "v9"},
	"PATCH /api/v1/applications/:id":               map[string]any{"name": "stolen"},
	"POST /api/v1/applications/:id/keys":           map[string]any{"name": "stolen"},
	"PATCH /api/v1/tiers/:id":                      map[string]any{"requests": 1, "per": "second"},
	"PATCH /api/v1/users/:id":                      map[string]any{"role": "admin", "password": "stolen-password-1"},
	"POST /api/v1/applications/:id/secret":         map[string]any{},
	"POST /api/v1/subscriptions/:id/approve":       map[string]any{},
	"POST /api/v1/subscriptions/:id/block":         map[string]any{},
	"POST /api/v1/subscriptions/:id/reject":        map[string]any{},
	"POST /api/v1/subscriptions/:id/unblock":       map[string]any{},
	"DELETE /api/v1/applications/:id/keys/:key_id": nil,
}

// coveredElsewhere lists routes with a path parameter that this matrix cannot
// point at another tenant's object, and why. A new route must either be
// reachable by fill or be listed here, or TestTenantsAreKeptApart fails.
var coveredElsewhere = map[string]string{
	"GET /api/v1/analytics/top/:dimension": "the parameter is a dimension word (apis, applications, ...), not an object; " +
		"the object ids are query filters, checked with B's ids in \"analytics filters\" below",
	"PUT /heroku/resources/:id": "Heroku's partner API: the caller is Heroku with the add-on's Basic credentials, never a user of an " +
		"organisation; wrong credentials are refused in internal/heroku's tests",
	"DELETE /heroku/resources/:id": "Heroku's partner API, as above",
	"GET /heroku/resources/:id": "legacy Heroku SSO: a salted token for that resource signs in, no session is read; " +
		"TestOpenRedirectsRefused and internal/heroku's SSO tests cover it",
}

// errorBody is the contract's error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestTenantsAreKeptApart logs in as each role of organisation A and calls
// every /api/v1 and HTML route that names an object with organisation B's
// objects: each answers 404 (or, for a role that may not use the route at
// all, the same refusal a made-up id gets), shows nothing of B, and changes
// nothing of B. A developer of A gets the same against another developer's
// applications in A.
func TestTenantsAreKeptApart(t *testing.T) {
	// Every optional module on, so every route Portico can serve is listed.
	everything, _ := withEverything(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		a := newTenant(t, s, "default", s.AdminToken(t), "Initech")
		b := newTenant(t, s, "globex", s.NewOrg(t, "globex"), "Globex")
		dev2 := s.NewUser(t, a.admin, "dev2@default.example.com", "developer")
		before, beforeUsers := b.snapshot(t, s), b.usersOf(t, s)
		beforeA := a.snapshot(t, s)

		var apiRoutes, htmlRoutes []string
		for _, rt := range s.App.Routes() {
			if !strings.Contains(rt.Path, ":") || strings.HasPrefix(rt.Method, "echo_") {
				continue
			}
			key := rt.Method + " " + rt.Path
			switch {
			case strings.HasPrefix(rt.Path, "/api/v1/"):
				apiRoutes = append(apiRoutes, key)
			case coveredElsewhere[key] != "":
				t.Logf("%s: covered elsewhere: %s", key, coveredElsewhere[key])
			case strings.Count(rt.Path, ":") > strings.Count(rt.Path, ":org"):
				// Pages named by the organisation alone (its portal, catalogue,
				// own applications) are the visitor's own or public by design;
				// "a portal visitor" below checks B's private API stays hidden.
				htmlRoutes = append(htmlRoutes, key)
			}
		}
		sort.Strings(apiRoutes)
		sort.Strings(htmlRoutes)
		if len(apiRoutes) < 30 || len(htmlRoutes) < 20 {
			t.Fatalf("too few routes with ids found (%d API, %d HTML): is Routes() complete?", len(apiRoutes), len(htmlRoutes))
		}

		roles := []struct{ name, token, email string }{
			{"admin", a.admin, apptest.AdminEmail},
			{"publisher", a.pub, "pub@default.example.com"},
			{"developer", a.dev, a.devEmail},
		}
		t.Run("management API", func(t *testing.T) {
			for _, key := range apiRoutes {
				method, pattern, _ := strings.Cut(key, " ")
				if coveredElsewhere[key] != "" {
					continue
				}
				path, ok := fill(b, pattern, b.slug, false)
				if !ok {
					t.Errorf("%s names an object this matrix does not know: add it to fill, or to coveredElsewhere with the reason", key)
					continue
				}
				ghost, _ := fill(b, pattern, b.slug, true)
				body, ok := writeBodies[key]
				if !ok && method != http.MethodGet && method != http.MethodDelete {
					body = map[string]any{}
				}
				for _, role := range roles {
					r := s.Do(t, method, path, role.token, body)
					g := s.Do(t, method, ghost, role.token, body)
					checkRefusal(t, role.name+" "+method+" "+path, r, g)
					if m := b.leaks(r.Body); m != "" {
						t.Errorf("%s %s as A's %s: the answer holds B's %q: %s", method, path, role.name, m, r.Body)
					}
				}
			}
		})

		t.Run("management API: another developer's applications", func(t *testing.T) {
			for _, key := range apiRoutes {
				method, pattern, _ := strings.Cut(key, " ")
				if !strings.HasPrefix(pattern, "/api/v1/applications/") && !strings.HasPrefix(pattern, "/api/v1/subscriptions/") &&
					!strings.HasPrefix(pattern, "/api/v1/billing/subscriptions/") && !strings.HasPrefix(pattern, "/api/v1/tokens/") {
					continue
				}
				if strings.HasPrefix(pattern, "/api/v1/subscriptions/:id/") && method == http.MethodPost {
					continue // approve/block/reject/unblock are publisher moderation, refused to developers by role
				}
				path, _ := fill(a, pattern, a.slug, false)
				ghost, _ := fill(a, pattern, a.slug, true)
				body := writeBodies[key]
				if body == nil && method == http.MethodPost {
					body = map[string]any{}
				}
				r := s.Do(t, method, path, dev2, body)
				g := s.Do(t, method, ghost, dev2, body)
				checkRefusal(t, "another developer "+method+" "+path, r, g)
				if r.Status != http.StatusNotFound {
					t.Errorf("another developer %s %s: %d, want 404", method, path, r.Status)
				}
			}
		})

		t.Run("HTML pages", func(t *testing.T) {
			for _, role := range roles {
				ses := login(t, s, role.email, passwordOf(role.email))
				for _, key := range htmlRoutes {
					method, pattern, _ := strings.Cut(key, " ")
					for _, org := range []string{a.slug, b.slug} {
						if !strings.Contains(pattern, ":org") && org == b.slug {
							continue
						}
						path, ok := fill(b, pattern, org, false)
						if !ok {
							t.Errorf("%s names an object this matrix does not know: add it to fill", key)
							continue
						}
						status, body := htmlCall(t, s, ses, method, path, b)
						// A role barred from an area (a developer in /publisher) is
						// refused whatever the id; everything else is not found.
						want := http.StatusNotFound
						if role.name == "developer" && strings.HasPrefix(path, "/publisher/") || role.name != "admin" && strings.HasPrefix(path, "/admin/") {
							want = http.StatusForbidden
						}
						if status != want {
							t.Errorf("%s %s as A's %s: %d, want %d", method, path, role.name, status, want)
						}
						if m := b.leaks(body); m != "" {
							t.Errorf("%s %s as A's %s: the page holds B's %q", method, path, role.name, m)
						}
					}
				}
			}
		})

		t.Run("HTML pages: another developer's applications", func(t *testing.T) {
			ses := login(t, s, "dev2@default.example.com", "user-password-1")
			for _, key := range htmlRoutes {
				method, pattern, _ := strings.Cut(key, " ")
				if !strings.Contains(pattern, "/applications/:app") && !strings.Contains(pattern, "/subscriptions/:sub") && !strings.Contains(pattern, "/tokens/:id") {
					continue
				}
				path, _ := fill(a, pattern, a.slug, false)
				status, body := htmlCall(t, s, ses, method, path, a)
				if status != http.StatusNotFound {
					t.Errorf("another developer %s %s: %d, want 404", method, path, status)
				}
				if strings.Contains(string(body), "Initech-app") || strings.Contains(string(body), a.clientID) {
					t.Errorf("another developer %s %s: the page shows the application", method, path)
				}
			}
		})

		t.Run("analytics filters", func(t *testing.T) {
			// Another tenant's id as a filter is not found, or answers exactly
			// what an id that never existed answers; never B's numbers. B has
			// traffic: one call with its key (the backend is down: a 502).
			call(t, s, "GET", "/globex-ledger/v1/entries", "apikey", b.apk)
			if err := s.App.AnalyticsSink().Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			from := time.Now().Add(-time.Hour).UTC().Truncate(time.Hour)
			window := "&from=" + from.Format(time.RFC3339) + "&to=" + from.Add(3*time.Hour).Format(time.RFC3339)
			if r := s.Do(t, http.MethodGet, "/api/v1/analytics/summary?api_id="+b.api+window, b.pub, nil); !strings.Contains(string(r.Body), `"requests":1`) {
				t.Fatalf("B's own summary: %d %s", r.Status, r.Body)
			}
			for _, q := range []string{
				"/api/v1/analytics/summary?api_id=%s", "/api/v1/analytics/summary?application_id=%s",
				"/api/v1/analytics/timeseries?interval=hour&api_id=%s", "/api/v1/analytics/errors?api_id=%s",
				"/api/v1/analytics/top/apis?application_id=%s", "/api/v1/analytics/top/applications?api_id=%s",
				"/api/v1/alerts/history?api_id=%s", "/api/v1/subscriptions?api_id=%s", "/api/v1/subscriptions?application_id=%s",
			} {
				id := b.api
				if strings.Contains(q, "application_id") {
					id = b.app
				}
				for _, role := range roles {
					r := s.Do(t, http.MethodGet, fmt.Sprintf(q, id)+window, role.token, nil)
					g := s.Do(t, http.MethodGet, fmt.Sprintf(q, ghostID)+window, role.token, nil)
					if r.Status != g.Status || (r.Status == http.StatusOK && string(r.Body) != string(g.Body)) {
						t.Errorf("%s as A's %s: %d %s, but a made-up id gets %d %s", fmt.Sprintf(q, "B"), role.name, r.Status, r.Body, g.Status, g.Body)
					}
					if m := b.leaks(r.Body); m != "" {
						t.Errorf("%s as A's %s: the answer holds B's %q", fmt.Sprintf(q, "B"), role.name, m)
					}
				}
			}
		})

		t.Run("a portal visitor", func(t *testing.T) {
			// B's portal is public, but its private API is for B's members only.
			for _, role := range roles {
				ses := login(t, s, role.email, passwordOf(role.email))
				for _, p := range []string{"/portal/globex", "/portal/globex?q=Globex", "/portal/globex?q=ledger", "/portal/default?q=Globex"} {
					_, body := get(t, ses.c, s.URL+p)
					if strings.Contains(string(body), "Globex Ledger") || strings.Contains(string(body), b.api) {
						t.Errorf("%s as A's %s shows B's private API", p, role.name)
					}
				}
			}
		})

		t.Run("nothing of B or of A's developer changed", func(t *testing.T) {
			sameSnapshot(t, before, b.snapshot(t, s))
			sameSnapshot(t, beforeA, a.snapshot(t, s))
			if after := b.usersOf(t, s); after != beforeUsers {
				t.Errorf("B's users changed:\nbefore %s\nafter  %s", beforeUsers, after)
			}
			// B's users still log in with their own passwords.
			s.Token(t, b.devEmail, "user-password-1")
		})
	}, everything)
}

// passwordOf is the password apptest gave a user.
func passwordOf(email string) string {
	if email == apptest.AdminEmail {
		return apptest.AdminPassword
	}
	return "user-password-1"
}

// checkRefusal asserts r (a call on another tenant's object) is a refusal in
// the contract's format, 404 unless the role may not use the route at all,
// and indistinguishable from g (the same call on an id that never existed).
func checkRefusal(t *testing.T, what string, r, g *apptest.Response) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: %d, body not in the contract's error format: %s", what, r.Status, r.Body)
		return
	}
	switch {
	case r.Status == http.StatusNotFound:
	case r.Status == http.StatusForbidden && e.Error.Code == "forbidden":
	default:
		t.Errorf("%s: %d %s, want 404 (or 403 forbidden for a role barred from the route)", what, r.Status, r.Body)
		return
	}
	if r.Status != g.Status || r.ErrorCode() != g.ErrorCode() {
		t.Errorf("%s: %d %s, but a made-up id gets %d %s: the answer tells the object exists", what, r.Status, r.ErrorCode(), g.Status, g.ErrorCode())
	}
}

// htmlCall sends a browser request (a form post with the session's CSRF token
// and fields most forms read) and returns status and body.
func htmlCall(t *testing.T, s *apptest.Server, ses *session, method, path string, victim *tenant) (int, []byte) {
	t.Helper()
	if method == http.MethodGet {
		resp, body := get(t, ses.c, s.URL+path)
		return resp.StatusCode, body
	}
	form := url.Values{"csrf_token": {ses.csrf}, "name": {"stolen"}, "title": {"stolen"}, "body": {"stolen"},
		"summary": {"stolen"}, "method": {"GET"}, "path": {"/stolen"}, "version": {"v9"}, "action": {"block"},
		"application_id": {victim.app}, "tier": {"Bronze"}, "key_name": {"stolen"}, "context": {"stolen"},
		"backend_url": {"http://127.0.0.1:9/"}, "description": {"stolen"}, "spec": {"openapi: 3.0.3"},
		"what": {"role"}, "role": {"admin"}}
	resp, body := postForm(t, ses.c, s.URL+path, form)
	return resp.StatusCode, body
}
