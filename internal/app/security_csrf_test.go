package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"portico/internal/app/apptest"
	"portico/internal/billing/billingtest"
	"portico/internal/config"
	"portico/internal/heroku/herokutest"
)

// csrfExempt are the non-GET routes outside /api/v1 that take no CSRF token,
// by design: none of them reads the browser's session cookie, so a cross-site
// form gains nothing there.
var csrfExempt = map[string]string{
	"POST /oauth2/token":            "OAuth clients authenticate with client_id/client_secret or a PKCE verifier, never a cookie (RFC 6749 §3.2)",
	"POST /oauth2/introspect":       "client-authenticated, like the token endpoint (RFC 7662)",
	"POST /oauth2/revoke":           "client-authenticated, like the token endpoint (RFC 7009)",
	"POST /billing/stripe/webhook":  "Stripe signs the body with the webhook secret; no session",
	"POST /heroku/resources":        "Heroku's partner API, authenticated with the add-on's Basic credentials",
	"PUT /heroku/resources/:id":     "Heroku's partner API, authenticated with the add-on's Basic credentials",
	"DELETE /heroku/resources/:id":  "Heroku's partner API, authenticated with the add-on's Basic credentials",
	"POST /heroku/sso":              "Heroku's dashboard posts it cross-site by design; a salted, timed, single-use token authenticates it",
	"POST /api/v1/tokens":           "exchanges an e-mail and password for a token; reads no cookie",
	"POST /api/v1/signup":           "creates an account from the posted credentials; reads no cookie (JSON only: a cross-site form cannot send it)",
	"POST /api/v1/openapi/validate": "checks the posted document and stores nothing",
}

// withEverything turns on every optional module, so Routes() lists every
// route Portico can serve: Stripe billing (stripe-mock) and the Heroku add-on
// (a fake Heroku, returned for tests that provision).
func withEverything(t *testing.T) (apptest.Option, *herokutest.Fake) {
	fake := herokutest.New(t, herokuClientSecret)
	stripe := withStripe(billingtest.StripeMock(t))
	return func(c *config.Config) {
		stripe(c)
		c.Heroku = config.Heroku{AddonID: herokuAddonID, AddonPassword: herokuAddonPW, SSOSalt: herokuSSOSalt,
			ClientSecret: herokuClientSecret, APIBase: fake.URL, IDBase: fake.URL}
	}, fake
}

// The add-on's partner credentials in tests.
const (
	herokuAddonID      = "portico"
	herokuAddonPW      = "partner-password-partner-password-pw-7f3a"
	herokuSSOSalt      = "salt-2f97bfa52ca102f8874716e2eb1d3b4920ad0be4"
	herokuClientSecret = "heroku-oauth-client-secret-9c1e"
)

// TestCSRFRefusedOnEveryForm posts to every browser route that changes
// something (enumerated from the router, so a new form is covered the day it
// lands) from a logged-in session without the CSRF token, with a wrong one,
// and with another session's: each is refused with 403 and nothing changes.
// The session-authenticated JSON API is held to the same rule through its
// X-CSRF-Token header.
func TestCSRFRefusedOnEveryForm(t *testing.T) {
	everything, _ := withEverything(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		a := newTenant(t, s, "default", s.AdminToken(t), "Initech")
		before := a.snapshot(t, s)
		ses := login(t, s, apptest.AdminEmail, apptest.AdminPassword)
		other := login(t, s, a.devEmail, "user-password-1")
		if other.csrf == ses.csrf {
			t.Fatal("two sessions share a CSRF token")
		}

		var forms, api []string
		for _, rt := range s.App.Routes() {
			key := rt.Method + " " + rt.Path
			if rt.Method == http.MethodGet || rt.Method == http.MethodHead || strings.HasPrefix(rt.Method, "echo_") {
				continue
			}
			if why, ok := csrfExempt[key]; ok {
				t.Logf("exempt: %s: %s", key, why)
				continue
			}
			if strings.HasPrefix(rt.Path, "/api/v1/") {
				api = append(api, key)
			} else {
				forms = append(forms, key)
			}
		}
		sort.Strings(forms)
		sort.Strings(api)
		if len(forms) < 25 || len(api) < 25 {
			t.Fatalf("only %d forms and %d API writes found: is Routes() complete?", len(forms), len(api))
		}

		attempts := []struct {
			name  string
			token string
		}{
			{"without a token", ""},
			{"with a wrong token", strings.Repeat("0", 64)},
			{"with another session's token", other.csrf},
			{"with the token's cookie seed instead of the token", cookieValue(t, ses.c, s.URL, "portico_csrf")},
		}
		for _, at := range attempts {
			t.Run("forms "+at.name, func(t *testing.T) {
				for _, key := range forms {
					method, pattern, _ := strings.Cut(key, " ")
					path, ok := fill(a, pattern, a.slug, false)
					if !ok {
						t.Errorf("%s: no object to point it at; add it to fill", key)
						continue
					}
					form := url.Values{"name": {"changed"}, "title": {"changed"}, "action": {"block"}, "email": {"x@example.com"},
						"password": {"password-1"}, "role": {"admin"}, "application_id": {a.app}, "tier": {"Gold"}, "version": {"v9"},
						"context": {"changed"}, "backend_url": {"http://127.0.0.1:9/"}, "requests": {"1"}, "per": {"second"}}
					if at.token != "" {
						form.Set("csrf_token", at.token)
					}
					req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Accept", "text/html")
					resp, err := ses.c.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s %s: %d, want 403", method, path, at.name, resp.StatusCode)
					}
				}
			})
			t.Run("session API "+at.name, func(t *testing.T) {
				for _, key := range api {
					method, pattern, _ := strings.Cut(key, " ")
					path, ok := fill(a, pattern, a.slug, false)
					if !ok {
						t.Errorf("%s: no object to point it at; add it to fill", key)
						continue
					}
					body, ok := writeBodies[key]
					if !ok {
						body = map[string]any{"name": "changed"}
					}
					var raw string
					if body != nil {
						j, _ := json.Marshal(body)
						raw = string(j)
					}
					var hdr []string
					if at.token != "" {
						hdr = []string{"X-CSRF-Token", at.token}
					}
					resp := doWith(t, ses.c, method, s.URL+path, raw, hdr...)
					if resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s %s: %d, want 403", method, path, at.name, resp.StatusCode)
					}
				}
			})
		}

		t.Run("a form with no session is refused too", func(t *testing.T) {
			anon := s.Browser(t)
			for _, p := range []string{"/portal/login", "/portal/signup", "/portal/logout"} {
				resp, _ := postForm(t, anon, s.URL+p, url.Values{"email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}})
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s without a token: %d", p, resp.StatusCode)
				}
			}
		})

		t.Run("nothing changed, and the session still works", func(t *testing.T) {
			sameSnapshot(t, before, a.snapshot(t, s))
			var users struct{ Items []struct{ Email string } }
			s.Do(t, http.MethodGet, "/api/v1/users?limit=50", a.admin, nil).JSON(t, &users)
			for _, u := range users.Items {
				if u.Email == "x@example.com" {
					t.Error("a user was added without a CSRF token")
				}
			}
			// The control: the same session with its own token gets through.
			resp, _ := postForm(t, ses.c, s.URL+"/admin/users", url.Values{"csrf_token": {ses.csrf}, "email": {"ok@example.com"}, "password": {"password-1"}, "role": {"developer"}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("the right token: %d", resp.StatusCode)
			}
		})
	}, everything)
}

// cookieValue is the value of the cookie name the client holds for base.
func cookieValue(t *testing.T, c *http.Client, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	t.Fatalf("no %s cookie", name)
	return ""
}
