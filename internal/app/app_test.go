package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portico/internal/app"
	"portico/internal/app/apptest"
	"portico/internal/config"
	"portico/internal/heroku"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
			if r := s.Do(t, "GET", path, "", nil); r.Status != want {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
		}
		r := s.Do(t, "GET", "/metrics", "", nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), `portico_http_requests_total{area="healthz",code="200",method="GET"}`) {
			t.Fatalf("metrics: %d %.500s", r.Status, r.Body)
		}
		if !strings.Contains(string(r.Body), "go_goroutines") {
			t.Fatal("runtime metrics missing")
		}
	})
}

func TestReadinessFailsWhenTheDatabaseIsGone(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	if r := s.Do(t, "GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("ready: %d", r.Status)
	}
	s.App.Store().Close()
	r := s.Do(t, "GET", "/readyz", "", nil)
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "database_unavailable" {
		t.Fatalf("readyz without a database: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz must stay 200 while the process runs: %d", r.Status)
	}
}

func TestTokensEndpoint(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		good := fmt.Sprintf(`{"email":%q,"password":%q}`, apptest.AdminEmail, apptest.AdminPassword)
		cases := []struct {
			name   string
			ctype  string
			body   string
			status int
			code   string
		}{
			{"right credentials", "application/json", good, 201, ""},
			{"e-mail in upper case", "application/json", strings.ToUpper(good[:30]) + good[30:], 201, ""},
			{"wrong password", "application/json", fmt.Sprintf(`{"email":%q,"password":"nope-nope"}`, apptest.AdminEmail), 401, "invalid_credentials"},
			{"unknown user", "application/json", `{"email":"ghost@example.com","password":"whatever1"}`, 401, "invalid_credentials"},
			{"missing password", "application/json", fmt.Sprintf(`{"email":%q}`, apptest.AdminEmail), 400, "missing_credentials"},
			{"malformed JSON", "application/json", `{"email":`, 400, "invalid_json"},
			{"not JSON at all", "application/json", `email=a&password=b`, 400, "invalid_json"},
			{"wrong type", "application/json", `{"email":42,"password":"x"}`, 400, "invalid_field"},
			{"two JSON values", "application/json", good + good, 400, "invalid_json"},
			{"empty body", "application/json", ``, 400, "invalid_json"},
			{"form content type", "application/x-www-form-urlencoded", good, 415, "unsupported_media_type"},
			{"too large", "application/json", `{"email":"` + strings.Repeat("a", 2<<20) + `"}`, 413, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("POST", s.URL+"/api/v1/tokens", strings.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.ctype)
				r := s.Send(t, req)
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				if tc.status >= 400 {
					var e struct {
						Error struct{ Code, Message string } `json:"error"`
					}
					r.JSON(t, &e)
					if e.Error.Message == "" || (tc.code != "" && e.Error.Code != tc.code) {
						t.Fatalf("error body %s, want code %s", r.Body, tc.code)
					}
				} else {
					var tok struct {
						Token     string
						ExpiresAt time.Time `json:"expires_at"`
					}
					r.JSON(t, &tok)
					if !strings.HasPrefix(tok.Token, "pat_") || tok.ExpiresAt.Before(time.Now()) {
						t.Fatalf("token answer %s", r.Body)
					}
				}
			})
		}
	})
}

func TestAuthenticationIsRequired(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		for name, auth := range map[string]string{
			"no credentials":    "",
			"unknown token":     "Bearer pat_doesnotexist",
			"not a bearer":      "Basic YWRtaW46cGFzc3dvcmQ=",
			"empty bearer":      "Bearer ",
			"token of no shape": "Bearer abc",
		} {
			t.Run(name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", s.URL+"/api/v1/me", nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				r := s.Send(t, req)
				if r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" || r.ErrorCode() == "" {
					t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
				}
			})
		}
		tok := s.AdminToken(t)
		r := s.Do(t, "GET", "/api/v1/me", tok, nil)
		var me struct{ Email, Role string }
		r.JSON(t, &me)
		if r.Status != 200 || me.Email != apptest.AdminEmail || me.Role != "admin" {
			t.Fatalf("me: %d %s", r.Status, r.Body)
		}
	})
}

func TestUsersAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		pub := s.NewUser(t, admin, "pub@example.com", "publisher")

		r := s.Do(t, "POST", "/api/v1/users", admin, map[string]string{"email": "Dev@Example.com", "password": "password-2", "role": "developer"})
		if r.Status != 409 || r.ErrorCode() != "email_taken" {
			t.Fatalf("duplicate: %d %s", r.Status, r.Body)
		}
		r = s.Do(t, "POST", "/api/v1/users", admin, map[string]string{"email": "x@example.com", "password": "password-2", "role": "owner"})
		if r.Status != 400 || r.ErrorCode() != "invalid_role" {
			t.Fatalf("bad role: %d %s", r.Status, r.Body)
		}
		for who, tok := range map[string]string{"developer": dev, "publisher": pub} {
			r = s.Do(t, "POST", "/api/v1/users", tok, map[string]string{"email": "y@example.com", "password": "password-2", "role": "admin"})
			if r.Status != 403 || r.ErrorCode() != "forbidden" {
				t.Fatalf("%s creating a user: %d %s", who, r.Status, r.Body)
			}
		}

		var me struct{ ID string }
		s.Do(t, "GET", "/api/v1/me", admin, nil).JSON(t, &me)
		if r := s.Do(t, "GET", "/api/v1/users/"+me.ID, dev, nil); r.Status != 404 {
			t.Fatalf("developer reading the admin: %d", r.Status)
		}
		other := s.NewOrg(t, "globex")
		if r := s.Do(t, "GET", "/api/v1/users/"+me.ID, other, nil); r.Status != 404 {
			t.Fatalf("another organisation's admin reading our admin: %d", r.Status)
		}
		var otherList struct{ Items []struct{ Email string } }
		s.Do(t, "GET", "/api/v1/users", other, nil).JSON(t, &otherList)
		if len(otherList.Items) != 1 || otherList.Items[0].Email != "admin@globex.example.com" {
			t.Fatalf("other org sees: %+v", otherList)
		}

		// Pagination: 3 users, pages of 2.
		var page struct {
			Items      []struct{ Email string }
			NextCursor string `json:"next_cursor"`
		}
		s.Do(t, "GET", "/api/v1/users?limit=2", admin, nil).JSON(t, &page)
		if len(page.Items) != 2 || page.NextCursor == "" {
			t.Fatalf("first page: %+v", page)
		}
		seen := page.Items
		cursor := page.NextCursor
		page.Items, page.NextCursor = nil, ""
		s.Do(t, "GET", "/api/v1/users?limit=2&cursor="+url.QueryEscape(cursor), admin, nil).JSON(t, &page)
		if len(page.Items) != 1 || page.NextCursor != "" || page.Items[0].Email == seen[0].Email || page.Items[0].Email == seen[1].Email {
			t.Fatalf("second page: %+v after %+v", page, seen)
		}
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "cursor=!!!"} {
			if r := s.Do(t, "GET", "/api/v1/users?"+q, admin, nil); r.Status != 400 {
				t.Fatalf("%s: %d", q, r.Status)
			}
		}
	})
}

func TestSignupAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		r := s.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "dev@example.com", "password": "password-1"})
		var u struct{ Role, Email string }
		r.JSON(t, &u)
		if r.Status != 201 || u.Role != "developer" {
			t.Fatalf("signup: %d %s", r.Status, r.Body)
		}
		s.Token(t, "dev@example.com", "password-1")
		s.NewOrg(t, "initech")
		if r := s.Do(t, "POST", "/api/v1/signup", "", map[string]string{"email": "d2@example.com", "password": "password-1", "org": "initech"}); r.Status != 201 {
			t.Fatalf("signup into a named org: %d %s", r.Status, r.Body)
		}
		for name, tc := range map[string]struct {
			body   map[string]string
			status int
			code   string
		}{
			"duplicate":     {map[string]string{"email": "DEV@example.com", "password": "password-1"}, 409, "email_taken"},
			"unknown org":   {map[string]string{"email": "x@example.com", "password": "password-1", "org": "nope"}, 404, "not_found"},
			"weak password": {map[string]string{"email": "x@example.com", "password": "123"}, 400, "weak_password"},
			"bad e-mail":    {map[string]string{"email": "x", "password": "password-1"}, 400, "invalid_email"},
		} {
			t.Run(name, func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/signup", "", tc.body)
				if r.Status != tc.status || r.ErrorCode() != tc.code {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
	})
}

func TestUnknownPathsAnswerInTheContractFormat(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/no-such-api/v1/pets", 404, "api_not_found"},
		{"GET", "/api/v1/nothing-here", 404, "not_found"},
		{"POST", "/healthz", 405, "method_not_allowed"},
		{"GET", "/static/css/", 404, "not_found"},
		{"GET", "/static/nope.css", 404, "not_found"},
		{"GET", "/portal/no-such-org", 404, "not_found"},
		{"POST", "/oauth2/no-such-endpoint", 404, "not_found"},
		{"GET", "/oauth2/token", 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, "", nil)
			if r.Status != tc.status || r.ErrorCode() != tc.code {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	// A browser gets an HTML page instead.
	req, _ := http.NewRequest("GET", s.URL+"/portal/no-such-org", nil)
	req.Header.Set("Accept", "text/html")
	r := s.Send(t, req)
	if r.Status != 404 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), "not_found") {
		t.Fatalf("html 404: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/static/css/portico.css", "", nil); r.Status != 200 || !strings.Contains(string(r.Body), "--brand") {
		t.Fatalf("stylesheet: %d", r.Status)
	}
}

func TestRequestIDIsKeptOrMade(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	if r := s.Send(t, req); r.Header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("kept: %q", r.Header.Get("X-Request-ID"))
	}
	req.Header.Set("X-Request-ID", "bad id with spaces")
	if r := s.Send(t, req); r.Header.Get("X-Request-ID") == "bad id with spaces" || len(r.Header.Get("X-Request-ID")) != 32 {
		t.Fatalf("replaced: %q", r.Header.Get("X-Request-ID"))
	}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([0-9a-f]+)"`)

func csrfFrom(t *testing.T, body []byte) string {
	t.Helper()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token in page: %.400s", body)
	}
	return string(m[1])
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestBrowserLogInAdminAndLogOut(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		b := s.Browser(t)
		resp, _ := get(t, b, s.URL+"/admin")
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/portal/login?next=") {
			t.Fatalf("anonymous /admin: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body := get(t, b, s.URL+"/portal/login?next=/admin")
		token := csrfFrom(t, body)

		// A form without the CSRF token is refused, whatever else it holds.
		resp, _ = postForm(t, b, s.URL+"/portal/login", url.Values{"email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}})
		if resp.StatusCode != 403 {
			t.Fatalf("login without csrf: %d", resp.StatusCode)
		}
		// A wrong password keeps the e-mail and says what is wrong.
		resp, body = postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {token}, "email": {apptest.AdminEmail}, "password": {"wrong-password"}, "next": {"/admin"}})
		if resp.StatusCode != 401 || !strings.Contains(string(body), `value="`+apptest.AdminEmail+`"`) || !strings.Contains(string(body), "e-mail address or password is wrong") {
			t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
		}
		// Empty fields get errors next to them.
		resp, body = postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {token}})
		if resp.StatusCode != 400 || !strings.Contains(string(body), "Enter your e-mail address.") || !strings.Contains(string(body), "Enter your password.") {
			t.Fatalf("empty login: %d %s", resp.StatusCode, body)
		}
		// An off-site next is ignored.
		resp, _ = postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {token}, "email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}, "next": {"//evil.example.com/"}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin" {
			t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "portico_session" {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
			t.Fatalf("session cookie: %+v", session)
		}

		resp, body = get(t, b, s.URL+"/admin")
		if resp.StatusCode != 200 || !strings.Contains(string(body), apptest.AdminEmail) {
			t.Fatalf("admin page: %d", resp.StatusCode)
		}
		token = csrfFrom(t, body)
		resp, _ = postForm(t, b, s.URL+"/admin/users", url.Values{"csrf_token": {token}, "email": {"new@example.com"}, "password": {"password-1"}, "role": {"publisher"}})
		if resp.StatusCode != 303 {
			t.Fatalf("add user: %d", resp.StatusCode)
		}
		_, body = get(t, b, s.URL+resp.Header.Get("Location"))
		if !strings.Contains(string(body), "Added new@example.com as publisher.") {
			t.Fatalf("flash missing: %s", body)
		}
		resp, body = postForm(t, b, s.URL+"/admin/users", url.Values{"csrf_token": {token}, "email": {"new@example.com"}, "password": {"password-1"}, "role": {"publisher"}})
		if resp.StatusCode != 409 || !strings.Contains(string(body), "already exists") || !strings.Contains(string(body), `value="new@example.com"`) {
			t.Fatalf("duplicate user form: %d %s", resp.StatusCode, body)
		}

		// The session also authenticates the JSON API, with the CSRF header on writes.
		r := doWith(t, b, "POST", s.URL+"/api/v1/users", `{"email":"j@example.com","password":"password-1","role":"developer"}`)
		if r.StatusCode != 403 {
			t.Fatalf("session API write without csrf header: %d", r.StatusCode)
		}
		r = doWith(t, b, "POST", s.URL+"/api/v1/users", `{"email":"j@example.com","password":"password-1","role":"developer"}`, "X-CSRF-Token", token)
		if r.StatusCode != 201 {
			t.Fatalf("session API write with csrf header: %d", r.StatusCode)
		}

		resp, _ = postForm(t, b, s.URL+"/portal/logout", url.Values{"csrf_token": {token}})
		if resp.StatusCode != 303 {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		resp, _ = get(t, b, s.URL+"/admin")
		if resp.StatusCode != 303 {
			t.Fatalf("admin after logout: %d", resp.StatusCode)
		}
		// The old cookie is dead server-side too, not just forgotten by the browser.
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/me", nil)
		req.AddCookie(session)
		if r := s.Send(t, req); r.Status != 401 {
			t.Fatalf("old session after logout: %d", r.Status)
		}
	})
}

func doWith(t *testing.T, c *http.Client, method, u, body string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestRolesSeeOnlyTheirAreas(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	admin := s.AdminToken(t)
	s.NewUser(t, admin, "dev@example.com", "developer")
	b := s.Browser(t)
	_, body := get(t, b, s.URL+"/portal/login")
	resp, _ := postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, body)}, "email": {"dev@example.com"}, "password": {"user-password-1"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/default" {
		t.Fatalf("developer login lands on %q", resp.Header.Get("Location"))
	}
	for _, p := range []string{"/admin", "/publisher"} {
		if resp, _ := get(t, b, s.URL+p); resp.StatusCode != 403 {
			t.Fatalf("developer on %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, b, s.URL+"/portal/default"); resp.StatusCode != 200 {
		t.Fatalf("developer on the portal: %d", resp.StatusCode)
	}
}

func TestSignUpPageKeepsInputAndLogsIn(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	b := s.Browser(t)
	_, body := get(t, b, s.URL+"/portal/signup")
	token := csrfFrom(t, body)
	resp, body := postForm(t, b, s.URL+"/portal/signup", url.Values{"csrf_token": {token}, "email": {"me@example.com"}, "password": {"short"}})
	if resp.StatusCode != 400 || !strings.Contains(string(body), `value="me@example.com"`) || !strings.Contains(string(body), "at least 8 characters") {
		t.Fatalf("weak password: %d %s", resp.StatusCode, body)
	}
	resp, _ = postForm(t, b, s.URL+"/portal/signup", url.Values{"csrf_token": {token}, "email": {"me@example.com"}, "password": {"long-enough"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/default" {
		t.Fatalf("signup: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = get(t, b, s.URL+"/portal/default")
	if !strings.Contains(string(body), "me@example.com") {
		t.Fatal("not signed in after sign-up")
	}
}

func TestCookiesAndHeadersBehindHTTPS(t *testing.T) {
	everything, fake := withEverything(t)
	s := apptest.Start(t, store.SQLite, everything)
	req, _ := http.NewRequest("GET", s.URL+"/portal/login", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	r := s.Send(t, req)
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("csrf cookie over https: %q", r.Header.Get("Set-Cookie"))
	}
	for h, want := range map[string]string{"Strict-Transport-Security": "max-age=", "X-Frame-Options": "DENY",
		"Content-Security-Policy": "frame-ancestors 'none'", "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"} {
		if !strings.Contains(r.Header.Get(h), want) {
			t.Errorf("%s = %q, want it to hold %q", h, r.Header.Get(h), want)
		}
	}
	for _, want := range []string{"default-src 'self'", "base-uri 'none'", "object-src 'none'"} {
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) || strings.Contains(csp, "script-src") {
			t.Errorf("CSP %q, want %s and scripts from the site only", csp, want)
		}
	}

	// Every cookie Portico sets over HTTPS (CSRF, session at log-in, sign-up
	// and Heroku SSO, the cleared one at log-out, Heroku's nav data) is Secure
	// and SameSite=Lax, and HttpOnly unless a script must read it.
	csrfCk, err := http.ParseSetCookie(r.Header.Get("Set-Cookie"))
	if err != nil {
		t.Fatal(err)
	}
	token := csrfFrom(t, r.Body)
	https := func(path string, form url.Values, cookies ...*http.Cookie) *http.Response {
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		for _, c := range append(cookies, csrfCk) {
			req.AddCookie(c)
		}
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	seen := map[string]*http.Cookie{csrfCk.Name: csrfCk}
	collect := func(what string, resp *http.Response) *http.Cookie {
		t.Helper()
		if len(resp.Cookies()) == 0 {
			t.Fatalf("%s: %d, no cookie set", what, resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			seen[what+" "+c.Name] = c
		}
		return resp.Cookies()[0]
	}
	session := collect("log-in", https("/portal/login", url.Values{"csrf_token": {token}, "email": {apptest.AdminEmail}, "password": {apptest.AdminPassword}}))
	collect("log-out", https("/portal/logout", url.Values{"csrf_token": {token}}, session))
	collect("sign-up", https("/portal/signup", url.Values{"csrf_token": {token}, "email": {"new@example.com"}, "password": {"password-1"}}))
	const uuid = "c00c1e00-0000-4000-8000-00000000c00c"
	code := fake.AddAddon(uuid, "portico-c00c1e00", "cookie-app", "test")
	prov, _ := http.NewRequest("POST", s.URL+"/heroku/resources", strings.NewReader(fmt.Sprintf(
		`{"uuid":%q,"name":"portico-c00c1e00","plan":"test","callback_url":%q,"options":{"backend_url":"https://cookie-app.example.com"},"oauth_grant":{"code":%q,"type":"authorization_code"}}`,
		uuid, fake.URL+"/addons/"+uuid, code)))
	prov.Header.Set("Content-Type", "application/json")
	prov.SetBasicAuth(herokuAddonID, herokuAddonPW)
	if pr := s.Send(t, prov); pr.Status != http.StatusOK {
		t.Fatalf("provision: %d %s", pr.Status, pr.Body)
	}
	ts := fmt.Sprint(time.Now().Unix())
	collect("Heroku SSO", https("/heroku/sso", url.Values{"resource_id": {uuid}, "timestamp": {ts}, "user_id": {"u-1"}, "email": {"owner@heroku.example.com"},
		"user_scoped_resource_token": {heroku.UserScopedToken(uuid, herokuSSOSalt, ts, "u-1", "owner@heroku.example.com")}, "nav-data": {"eyJhcHAiOiJjb29raWUtYXBwIn0"}}))
	for _, name := range []string{"portico_csrf", "log-in portico_session", "log-out portico_session", "sign-up portico_session",
		"Heroku SSO portico_session", "Heroku SSO " + heroku.NavCookie} {
		c, ok := seen[name]
		if !ok {
			t.Errorf("%s: not set", name)
			continue
		}
		// Heroku's navigation script reads its nav data: that one cookie is
		// readable by script (and holds nothing secret).
		wantHTTPOnly := c.Name != heroku.NavCookie
		if !c.Secure || c.SameSite != http.SameSiteLaxMode || c.HttpOnly != wantHTTPOnly || c.Path != "/" {
			t.Errorf("%s: %s, want Secure, SameSite=Lax, Path=/, HttpOnly=%v", name, c.String(), wantHTTPOnly)
		}
	}
	for name, c := range seen {
		if c.Name != "portico_csrf" && c.Name != "portico_session" && c.Name != heroku.NavCookie {
			t.Errorf("%s: a cookie this test does not know; add its rules here", name)
		}
	}
	// Plain HTTP gets no HSTS (it would be ignored, and is wrong on localhost).
	if r := s.Do(t, "GET", "/portal/login", "", nil); r.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over plain HTTP")
	}
}

func TestOpenAPIDocumentCoversEveryAPIRoute(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	r := s.Do(t, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.JSON(t, &doc)
	if r.Status != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("document: %d %.200s", r.Status, r.Body)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	for _, rt := range s.App.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/") || strings.HasSuffix(rt.Path, "*") {
			continue
		}
		p := param.ReplaceAllString(strings.TrimPrefix(rt.Path, "/api/v1"), "{$1}")
		ops, ok := doc.Paths[p]
		if !ok {
			t.Errorf("%s %s is not in the OpenAPI document", rt.Method, p)
			continue
		}
		if _, ok := ops[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s: method not in the OpenAPI document", rt.Method, p)
		}
	}
}

// TestShutdownDrainsInFlightRequests sends a request whose body arrives slowly,
// stops the server mid-request, and checks the request still gets its answer.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	cfg, err := config.Load(func(k string) string {
		if k == "PORTICO_ADMIN_EMAIL" {
			return apptest.AdminEmail
		}
		if k == "PORTICO_ADMIN_PASSWORD" {
			return apptest.AdminPassword
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = storetest.Database(t, store.SQLite)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, storetest.Logger(t), app.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- a.ServeListener(ctx, ln, ready) }()
	addr := <-ready

	pr, pw := io.Pipe()
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/tokens", pr)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	fmt.Fprintf(pw, `{"email":%q,`, apptest.AdminEmail)
	time.Sleep(200 * time.Millisecond) // the request is now in flight
	cancel()
	time.Sleep(200 * time.Millisecond)
	fmt.Fprintf(pw, `"password":%q}`, apptest.AdminPassword)
	pw.Close()
	select {
	case code := <-answered:
		if code != 201 {
			t.Fatalf("in-flight request got %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(app.ShutdownGrace + 5*time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

// TestGeneratedSecretSurvivesRestart: with no PORTICO_SECRET the first start makes
// one and keeps it in the database, so a restart (or a second dyno) derives the
// same keys: a CSRF token from before the restart still validates.
func TestGeneratedSecretSurvivesRestart(t *testing.T) {
	db := storetest.Database(t, store.SQLite)
	start := func() (*app.App, string, func()) {
		cfg, err := config.Load(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		cfg.Database = db
		ctx, cancel := context.WithCancel(context.Background())
		a, err := app.New(ctx, cfg, storetest.Logger(t), app.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		ready, done := make(chan string, 1), make(chan error, 1)
		go func() { done <- a.ServeListener(ctx, ln, ready) }()
		addr := <-ready
		return a, "http://" + addr, func() { cancel(); <-done; a.Close() }
	}
	a1, url1, stop1 := start()
	secret, ok, err := a1.Store().Setting(context.Background(), "portico_secret")
	if err != nil || !ok || len(secret) < 32 {
		t.Fatalf("generated secret: %q %v %v", secret, ok, err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, body := get(t, c, url1+"/portal/login")
	token := csrfFrom(t, body)
	var csrfCookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "portico_csrf" {
			csrfCookie = ck
		}
	}
	stop1()

	a2, url2, stop2 := start()
	defer stop2()
	again, _, _ := a2.Store().Setting(context.Background(), "portico_secret")
	if again != secret {
		t.Fatal("the secret changed across a restart")
	}
	req, _ := http.NewRequest("POST", url2+"/portal/login", strings.NewReader(url.Values{"csrf_token": {token}, "email": {"x@example.com"}, "password": {"wrong-pass"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrfCookie)
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusUnauthorized { // past CSRF, refused only for the password
		t.Fatalf("token from before the restart: %d", r.StatusCode)
	}
}
