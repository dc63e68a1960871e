package app_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/heroku"
)

// offSite reports why loc (a Location header) would take a browser off the
// site, or "" when it stays. Browsers drop tabs and newlines anywhere in a URL
// and treat a backslash like a slash, so those count too.
func offSite(loc string) string {
	clean := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(strings.TrimLeft(loc, " \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"))
	if loc == "" {
		return ""
	}
	u, err := url.Parse(clean)
	switch {
	case err != nil:
		return "unparsable: " + err.Error()
	case u.Scheme != "" || u.Host != "" || u.Opaque != "":
		return "names a scheme or host"
	case !strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "//"):
		return "not a path on this site"
	}
	return ""
}

var nextField = regexp.MustCompile(`name="next" value="([^"]*)"`)

// evilNexts are return-to values a phisher would put in a link.
var evilNexts = []string{
	"//evil.example", "//evil.example/admin", "https://evil.example", "http://evil.example/", "/\\evil.example",
	"\\\\evil.example", "/\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
	"/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "%2F%2Fevil.example", "/%09/evil.example",
	"https:evil.example", "///evil.example", "evil.example", "@evil.example", "/admin@evil.example",
}

// TestOpenRedirectsRefused: no link into Portico sends a browser elsewhere:
// not the log-in form's next, not OAuth's redirect_uri unless registered
// exactly, not Heroku SSO's next.
func TestOpenRedirectsRefused(t *testing.T) {
	everything, fake := withEverything(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		a := newTenant(t, s, "default", s.AdminToken(t), "Initech")

		t.Run("log-in next", func(t *testing.T) {
			for _, next := range evilNexts {
				b := s.Browser(t)
				_, page := get(t, b, s.URL+"/portal/login?next="+url.QueryEscape(next))
				tok := csrfFrom(t, page)
				if m := nextField.FindSubmatch(page); m == nil || offSite(html.UnescapeString(string(m[1]))) != "" {
					t.Errorf("next=%q: the log-in form carries on %q", next, m)
				}
				resp, _ := postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {tok}, "email": {apptest.AdminEmail},
					"password": {apptest.AdminPassword}, "next": {next}})
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusSeeOther || offSite(loc) != "" {
					t.Errorf("next=%q: %d to %q (%s)", next, resp.StatusCode, loc, offSite(loc))
				}
			}
			// The control: a path on the site is kept.
			b := s.Browser(t)
			_, page := get(t, b, s.URL+"/portal/login")
			resp, _ := postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, page)}, "email": {apptest.AdminEmail},
				"password": {apptest.AdminPassword}, "next": {"/publisher/apis?page=2"}})
			if loc := resp.Header.Get("Location"); loc != "/publisher/apis?page=2" {
				t.Fatalf("a next on the site: %q", loc)
			}
		})

		t.Run("OAuth redirect_uri", func(t *testing.T) {
			registered := "https://default.example.com/cb"
			verifier := strings.Repeat("v", 50)
			sum := sha256.Sum256([]byte(verifier))
			authorize := func(redirect string) string {
				q := url.Values{"response_type": {"code"}, "client_id": {a.clientID}, "state": {"state-12345"},
					"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
				if redirect != "" {
					q.Set("redirect_uri", redirect)
				}
				return s.URL + "/oauth2/authorize?" + q.Encode()
			}
			dev := login(t, s, a.devEmail, "user-password-1")
			tricks := []string{
				"https://evil.example/cb",
				"https://default.example.com:8443/cb",
				"https://default.example.com/cb2",
				"https://default.example.com/cb/../evil",
				"https://default.example.com/",
				"https://default.example.com/cb?next=https://evil.example",
				"https://default.example.com/cb#x",
				"https://default.example.com@evil.example/cb",
				"https://evil.example@default.example.com/cb",
				"https://default.example.com%2F@evil.example/cb",
				"https://default.example.com%40evil.example/cb",
				"https%3A%2F%2Fdefault.example.com%2Fcb",
				"https://DEFAULT.example.com/cb",
				"http://default.example.com/cb",
				"//default.example.com/cb",
				"https://default.example.com.evil.example/cb",
				"https://default.example.com\\@evil.example/cb",
				"javascript:alert(1)//https://default.example.com/cb",
				"https://default.example.com/cb\t",
			}
			for _, trick := range tricks {
				for who, c := range map[string]*http.Client{"anonymous": s.Browser(t), "signed in": dev.c} {
					resp, body := get(t, c, authorize(trick))
					loc := resp.Header.Get("Location")
					if resp.StatusCode/100 == 3 && (offSite(loc) != "" || strings.Contains(loc, "evil")) {
						t.Errorf("%s, redirect_uri=%q: %d to %q", who, trick, resp.StatusCode, loc)
					}
					if who == "signed in" && resp.StatusCode != http.StatusBadRequest {
						t.Errorf("%s, redirect_uri=%q: %d, want an error page (400): %.200s", who, trick, resp.StatusCode, body)
					}
				}
			}
			// The control: the registered URI gets the consent page, and
			// approving it goes back to that URI with a code.
			resp, page := get(t, dev.c, authorize(registered))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("registered redirect_uri: %d %.300s", resp.StatusCode, page)
			}
			q := url.Values{"response_type": {"code"}, "client_id": {a.clientID}, "state": {"state-12345"}, "redirect_uri": {registered},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
			resp, _ = postForm(t, dev.c, s.URL+"/oauth2/authorize?"+q.Encode(), url.Values{"csrf_token": {dev.csrf}, "consent": {"approve"}})
			if loc := resp.Header.Get("Location"); resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, registered+"?code=") {
				t.Fatalf("approved: %d %q", resp.StatusCode, loc)
			}
		})

		t.Run("Heroku SSO next", func(t *testing.T) {
			const uuid = "5e1f0000-0000-4000-8000-00000000abcd"
			code := fake.AddAddon(uuid, "portico-5e1f0000", "redirect-app", "test")
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/heroku/resources", strings.NewReader(fmt.Sprintf(
				`{"uuid":%q,"name":"portico-5e1f0000","plan":"test","region":"amazon-web-services::us-east-1","callback_url":%q,"options":{"backend_url":"https://redirect-app.example.com"},"oauth_grant":{"code":%q,"type":"authorization_code"}}`,
				uuid, fake.URL+"/addons/"+uuid, code)))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(herokuAddonID, herokuAddonPW)
			if r := s.Send(t, req); r.Status != http.StatusOK {
				t.Fatalf("provision: %d %s", r.Status, r.Body)
			}
			calls, start := 0, time.Now().Unix()
			sso := func(next string) *http.Response {
				// Tokens are single use: each sign-in gets its own second.
				calls++
				ts := fmt.Sprint(start - int64(calls))
				form := url.Values{"resource_id": {uuid}, "resource_token": {heroku.LegacyToken(uuid, herokuSSOSalt, ts)}, "timestamp": {ts},
					"email": {"owner@heroku.example.com"}, "user_id": {"u-1"}, "next": {next}}
				form.Set("user_scoped_resource_token", heroku.UserScopedToken(uuid, herokuSSOSalt, ts, "u-1", "owner@heroku.example.com"))
				resp, _ := postForm(t, s.Browser(t), s.URL+"/heroku/sso", form)
				return resp
			}
			for _, next := range append(evilNexts, "/publisher//evil.example", "/publisher/../..//evil.example", "/publisher\\evil.example",
				"/publisher/\t/evil.example", "/publisherevil.example") {
				resp := sso(next)
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusFound || offSite(loc) != "" || !strings.HasPrefix(loc, "/publisher") {
					t.Errorf("SSO next=%q: %d to %q", next, resp.StatusCode, loc)
				}
			}
			if loc := sso("/publisher/apis").Header.Get("Location"); loc != "/publisher/apis" {
				t.Fatalf("a next in the publisher: %q", loc)
			}

			// A sign-in link works once, however it is replayed.
			ts := fmt.Sprint(start - 200)
			link := url.Values{"resource_id": {uuid}, "resource_token": {heroku.LegacyToken(uuid, herokuSSOSalt, ts)}, "timestamp": {ts},
				"email": {"owner@heroku.example.com"}, "user_id": {"u-1"},
				"user_scoped_resource_token": {heroku.UserScopedToken(uuid, herokuSSOSalt, ts, "u-1", "owner@heroku.example.com")}}
			if resp, _ := postForm(t, s.Browser(t), s.URL+"/heroku/sso", link); resp.StatusCode != http.StatusFound {
				t.Fatalf("first use: %d", resp.StatusCode)
			}
			replays := map[string]url.Values{"as is": link}
			for name, change := range map[string]func(url.Values){
				"without the user-scoped token": func(v url.Values) { v.Del("user_scoped_resource_token") },
				"as another user, resource token only": func(v url.Values) {
					v.Del("user_scoped_resource_token")
					v.Set("user_id", "u-2")
					v.Set("email", "mallory@example.com")
				},
				"resource token as the legacy token": func(v url.Values) {
					v.Set("token", v.Get("resource_token"))
					v.Del("resource_token")
					v.Del("user_scoped_resource_token")
				},
				"upper-case token": func(v url.Values) {
					v.Set("resource_token", strings.ToUpper(v.Get("resource_token")))
					v.Del("user_scoped_resource_token")
				},
				"timestamp with a space":                  func(v url.Values) { v.Set("timestamp", " "+ts) },
				"only the resource token, another e-mail": func(v url.Values) { v.Del("user_scoped_resource_token"); v.Set("email", "x@example.com") },
			} {
				v := url.Values{}
				for k, vs := range link {
					v[k] = append([]string(nil), vs...)
				}
				change(v)
				replays[name] = v
			}
			for name, v := range replays {
				if resp, _ := postForm(t, s.Browser(t), s.URL+"/heroku/sso", v); resp.StatusCode != http.StatusForbidden {
					t.Errorf("SSO link replayed %s: %d, want 403", name, resp.StatusCode)
				}
			}
		})
	}, everything)
}
