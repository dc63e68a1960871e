package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/heroku"
	"portico/internal/store/storetest"
)

// logBuffer collects what Portico logs; the server writes from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretSet is every secret value the flow handled, by what it is.
type secretSet map[string]string

func (s secretSet) add(what, v string) {
	if len(v) < 6 {
		return // too short to find without false alarms; none of ours is
	}
	s[what] = v
}

var (
	pageSecret = regexp.MustCompile(`\b(cs_[A-Za-z0-9_-]{20,}|pk_[A-Za-z0-9_-]{20,}|ey[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`)
	authHeader = regexp.MustCompile(`(?i)(authorization|apikey|cookie|set-cookie|x-csrf-token|stripe-signature)["=: ]+[^ "\n]{6,}`)
)

// TestSecretsNeverLogged runs a full flow through a Portico logging at debug
// level (the production logger, text format) and scans everything it wrote for
// every secret the flow handled: passwords, the partner credentials, session
// and CSRF values, personal tokens, client secrets, API keys, OAuth codes and
// tokens, backend credentials, webhook signatures, Heroku SSO tokens.
func TestSecretsNeverLogged(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			everything, fake := withEverything(t)
			logs := &logBuffer{}
			s := apptest.StartLogging(t, d, logs, everything)
			sec := secretSet{}
			for what, v := range map[string]string{"admin password": apptest.AdminPassword, "PORTICO_SECRET": apptest.Secret,
				"Stripe secret key": s.Config.Stripe.SecretKey.Reveal(), "Stripe webhook secret": testWebhookSecret,
				"Heroku add-on password": herokuAddonPW, "Heroku SSO salt": herokuSSOSalt, "Heroku client secret": herokuClientSecret,
				"user password": "user-password-1"} {
				sec.add(what, v)
			}
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"ok":true}`)
			}))
			defer backend.Close()

			// Log in: wrong password first (JSON and form), then right.
			const wrong = "wrong-password-7c1d9e"
			sec.add("a mistyped password", wrong)
			s.Do(t, "POST", "/api/v1/tokens", "", map[string]string{"email": apptest.AdminEmail, "password": wrong})
			admin := s.AdminToken(t)
			sec.add("personal access token", admin)
			b := s.Browser(t)
			_, page := get(t, b, s.URL+"/portal/login")
			postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, page)}, "email": {apptest.AdminEmail}, "password": {wrong}})
			ses := login(t, s, apptest.AdminEmail, apptest.AdminPassword)
			sec.add("CSRF token", ses.csrf)
			sec.add("CSRF cookie", cookieValue(t, ses.c, s.URL, "portico_csrf"))
			sec.add("session cookie", cookieValue(t, ses.c, s.URL, "portico_session"))
			get(t, ses.c, s.URL+"/admin")
			postForm(t, ses.c, s.URL+"/admin/users", url.Values{"csrf_token": {ses.csrf}, "email": {"formuser@example.com"}, "password": {"form-user-password-3"}, "role": {"developer"}})
			sec.add("password set in a form", "form-user-password-3")

			// Objects: users, an API with backend credentials, an application, a key.
			a := newTenant(t, s, "default", admin, "Initech")
			sec.add("client secret", a.secret)
			sec.add("API key", a.apk)
			r := s.Do(t, "PATCH", "/api/v1/apis/"+a.api, a.pub, map[string]any{"backend_url": backend.URL,
				"backend_auth": map[string]string{"type": "header", "header": "X-Backend-Key", "value": "backend-header-secret-5b2e"}})
			if r.Status != http.StatusOK {
				t.Fatalf("backend: %d %s", r.Status, r.Body)
			}
			sec.add("backend credential", "backend-header-secret-5b2e")
			s.Do(t, "POST", "/api/v1/apis", a.pub, map[string]any{"name": "Basic", "context": "basic-backend", "version": "v1",
				"backend_url": backend.URL, "backend_auth": map[string]string{"type": "basic", "username": "svc", "password": "backend-basic-password-4d"}})
			sec.add("backend password", "backend-basic-password-4d")
			rot := s.Do(t, "POST", "/api/v1/applications/"+a.app+"/secret", a.dev, nil)
			var rotated struct {
				ClientSecret string `json:"client_secret"`
			}
			rot.JSON(t, &rotated)
			sec.add("rotated client secret", rotated.ClientSecret)

			// The portal shows a new key and an OAuth token on the application page.
			dev := login(t, s, a.devEmail, "user-password-1")
			sec.add("developer's session", cookieValue(t, dev.c, s.URL, "portico_session"))
			for _, p := range []string{"/keys", "/token"} {
				_, body := postForm(t, dev.c, s.URL+"/portal/default/applications/"+a.app+p, url.Values{"csrf_token": {dev.csrf}, "key_name": {"portal-key"}})
				for _, m := range pageSecret.FindAllString(string(body), -1) {
					sec.add("shown on the portal page "+p, m)
				}
			}

			// OAuth: client credentials, and the authorization code flow.
			form := url.Values{"grant_type": {"client_credentials"}}
			req, _ := http.NewRequest("POST", s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(a.clientID, rotated.ClientSecret)
			sec.add("client Basic credentials", base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(a.clientID)+":"+url.QueryEscape(rotated.ClientSecret))))
			var tok struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			tr := s.Send(t, req)
			tr.JSON(t, &tok)
			if tok.AccessToken == "" {
				t.Fatalf("client credentials: %d %s", tr.Status, tr.Body)
			}
			sec.add("access token", tok.AccessToken)
			verifier := "code-verifier-" + strings.Repeat("x", 40)
			sec.add("PKCE verifier", verifier)
			sum := sha256.Sum256([]byte(verifier))
			q := url.Values{"response_type": {"code"}, "client_id": {a.clientID}, "state": {"state-secret-91"}, "scope": {"offline"},
				"redirect_uri": {"https://default.example.com/cb"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
			resp, _ := postForm(t, dev.c, s.URL+"/oauth2/authorize?"+q.Encode(), url.Values{"csrf_token": {dev.csrf}, "consent": {"approve"}})
			cb, _ := url.Parse(resp.Header.Get("Location"))
			code := cb.Query().Get("code")
			if code == "" {
				t.Fatalf("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			sec.add("authorization code", code)
			form = url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://default.example.com/cb"},
				"code_verifier": {verifier}, "client_id": {a.clientID}, "client_secret": {rotated.ClientSecret}}
			var coded struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			s.Send(t, formRequest(t, s.URL+"/oauth2/token", form)).JSON(t, &coded)
			sec.add("code-flow access token", coded.AccessToken)
			sec.add("refresh token", coded.RefreshToken)
			// The code again (a replay), a refresh, introspection and revocation.
			s.Send(t, formRequest(t, s.URL+"/oauth2/token", form))
			if coded.RefreshToken != "" {
				var refreshed struct {
					RefreshToken string `json:"refresh_token"`
				}
				s.Send(t, formRequest(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {coded.RefreshToken},
					"client_id": {a.clientID}, "client_secret": {rotated.ClientSecret}})).JSON(t, &refreshed)
				sec.add("rotated refresh token", refreshed.RefreshToken)
			}
			s.Send(t, formRequest(t, s.URL+"/oauth2/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {a.clientID}, "client_secret": {rotated.ClientSecret}}))
			s.Send(t, formRequest(t, s.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {a.clientID}, "client_secret": {"bad-client-secret-x1"}}))
			sec.add("a wrong client secret", "bad-client-secret-x1")

			// The gateway: with the key and the token (also a misplaced key in
			// the query, and a bad key), through a published API.
			within(t, 3*time.Second, "the key works at the gateway", func() bool {
				return call(t, s, "GET", "/default-ledger/v1/entries", "apikey", a.apk).Status == http.StatusOK
			})
			call(t, s, "GET", "/default-ledger/v1/entries", "Authorization", "Bearer "+tok.AccessToken)
			call(t, s, "GET", "/default-ledger/v1/entries?apikey="+a.apk+"&access_token="+tok.AccessToken)
			call(t, s, "GET", "/default-ledger/v1/entries", "apikey", "pk_not-a-real-key-but-secretish-9f")
			sec.add("a wrong API key", "pk_not-a-real-key-but-secretish-9f")
			s.Send(t, formRequest(t, s.URL+"/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {a.clientID}, "client_secret": {rotated.ClientSecret}}))
			call(t, s, "GET", "/default-ledger/v1/entries", "Authorization", "Bearer "+tok.AccessToken)

			// Stripe: a signed webhook, and one with a bad signature.
			stripeEvent(t, s, testWebhookSecret, "evt_log_1", "invoice.payment_failed", map[string]any{"id": "in_1", "customer": "cus_x", "subscription": "sub_x"})
			stripeEvent(t, s, "", "evt_log_2", "invoice.paid", map[string]any{"id": "in_2"})

			// Heroku: provisioning with the partner password, then SSO.
			const uuid = "10e50000-0000-4000-8000-0000000010e5"
			grant := fake.AddAddon(uuid, "portico-10e50000", "logged-app", "test")
			sec.add("Heroku grant code", grant)
			body, _ := json.Marshal(map[string]any{"uuid": uuid, "name": "portico-10e50000", "plan": "test", "region": "amazon-web-services::us-east-1",
				"callback_url": fake.URL + "/addons/" + uuid, "options": map[string]string{"backend_url": backend.URL},
				"oauth_grant": map[string]string{"code": grant, "type": "authorization_code"}, "log_input_url": "https://token:logplex-secret-77@1.us.logplex.io/logs"})
			sec.add("logplex credentials", "logplex-secret-77")
			req, _ = http.NewRequest("POST", s.URL+"/heroku/resources", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.SetBasicAuth(herokuAddonID, herokuAddonPW)
			sec.add("partner Basic credentials", base64.StdEncoding.EncodeToString([]byte(herokuAddonID+":"+herokuAddonPW)))
			pr := s.Send(t, req)
			var prov struct{ Config map[string]string }
			pr.JSON(t, &prov)
			if prov.Config[heroku.VarBackendSecret] == "" {
				t.Fatalf("provision: %d %s", pr.Status, pr.Body)
			}
			sec.add("PORTICO_BACKEND_SECRET", prov.Config[heroku.VarBackendSecret])
			wrongPartner, _ := http.NewRequest("POST", s.URL+"/heroku/resources", bytes.NewReader(body))
			wrongPartner.SetBasicAuth(herokuAddonID, "wrong-partner-password-88")
			s.Send(t, wrongPartner)
			sec.add("a wrong partner password", "wrong-partner-password-88")
			ts := fmt.Sprint(time.Now().Unix())
			ssoToken := heroku.UserScopedToken(uuid, herokuSSOSalt, ts, "u-logs", "owner@heroku.example.com")
			sec.add("SSO token", ssoToken)
			sec.add("SSO resource token", heroku.LegacyToken(uuid, herokuSSOSalt, ts))
			hb := s.Browser(t)
			resp, _ = postForm(t, hb, s.URL+"/heroku/sso", url.Values{"resource_id": {uuid}, "resource_token": {heroku.LegacyToken(uuid, herokuSSOSalt, ts)},
				"user_scoped_resource_token": {ssoToken}, "timestamp": {ts}, "user_id": {"u-logs"}, "email": {"owner@heroku.example.com"}})
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("SSO: %d", resp.StatusCode)
			}
			sec.add("SSO session", cookieValue(t, hb, s.URL, "portico_session"))
			// A replayed SSO link, refused.
			postForm(t, s.Browser(t), s.URL+"/heroku/sso", url.Values{"resource_id": {uuid}, "user_scoped_resource_token": {ssoToken}, "timestamp": {ts},
				"user_id": {"u-logs"}, "email": {"owner@heroku.example.com"}})

			// Password changes and personal tokens, where this build has them:
			// the user's own form (a wrong current password first), an admin's
			// reset through the API and through the admin page.
			has := map[string]bool{}
			for _, rt := range s.App.Routes() {
				has[rt.Method+" "+rt.Path] = true
			}
			if has["POST /portal/account/tokens"] {
				_, body := postForm(t, dev.c, s.URL+"/portal/account/tokens", url.Values{"csrf_token": {dev.csrf}, "token_name": {"laptop"}})
				for _, m := range regexp.MustCompile(`pat_[A-Za-z0-9_-]{16,}`).FindAllString(string(body), -1) {
					sec.add("personal token shown on the account page", m)
				}
			}
			if has["POST /portal/account/password"] {
				for _, cur := range []string{"not-my-password-6q", "user-password-1"} {
					postForm(t, dev.c, s.URL+"/portal/account/password", url.Values{"csrf_token": {dev.csrf}, "current_password": {cur},
						"new_password": {"changed-password-8w"}, "confirm_password": {"changed-password-8w"}})
				}
				sec.add("a wrong current password", "not-my-password-6q")
				sec.add("a changed password", "changed-password-8w")
			}
			if has["PATCH /api/v1/users/:id"] {
				s.Do(t, "PATCH", "/api/v1/users/"+a.user, admin, map[string]string{"password": "reset-by-api-password-2k"})
				sec.add("a password reset through the API", "reset-by-api-password-2k")
			}
			if has["POST /admin/users/:id"] {
				postForm(t, ses.c, s.URL+"/admin/users/"+a.user, url.Values{"csrf_token": {ses.csrf}, "what": {"password"}, "password": {"reset-by-admin-password-5j"}})
				sec.add("a password reset on the admin page", "reset-by-admin-password-5j")
			}

			// Give asynchronous work (the Heroku grant exchange, analytics) a moment to log.
			time.Sleep(300 * time.Millisecond)
			out := logs.String()
			if !strings.Contains(out, "level=DEBUG") && !strings.Contains(out, "level=INFO") {
				t.Fatalf("the log is empty or not at debug level: %.500s", out)
			}
			t.Logf("scanned %d bytes of log for %d secrets", len(out), len(sec))
			for what, v := range sec {
				if i := strings.Index(out, v); i >= 0 {
					t.Errorf("the log holds the %s: …%s…", what, around(out, i, len(v)))
				}
			}
			for _, m := range authHeader.FindAllStringIndex(out, -1) {
				t.Errorf("the log holds a credential header: …%s…", around(out, m[0], m[1]-m[0]))
			}
		})
	}
}

// formRequest is a form POST (the OAuth endpoints' encoding).
func formRequest(t *testing.T, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// around is the log text around a hit, for the failure message.
func around(s string, i, n int) string {
	from, to := max(0, i-120), min(len(s), i+n+60)
	return s[from:to]
}
