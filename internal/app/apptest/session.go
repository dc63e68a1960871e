package apptest

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Session is a person signed in through the log-in form: a cookie jar and the
// CSRF token of the last page it read, which its form posts carry.
type Session struct {
	t    testing.TB
	s    *Server
	c    *http.Client
	csrf string
}

// Anonymous is a visitor who has not signed in.
func Anonymous(t testing.TB, s *Server) *Session { return &Session{t: t, s: s, c: s.Browser(t)} }

// SignIn logs email in through /portal/login, failing the test if it does not.
func SignIn(t testing.TB, s *Server, email, password string) *Session {
	t.Helper()
	b := Anonymous(t, s)
	b.Do(http.MethodGet, "/portal/login", nil)
	if st, _, _ := b.Do(http.MethodPost, "/portal/login", url.Values{"email": {email}, "password": {password}}); st != http.StatusSeeOther {
		t.Fatalf("apptest: log in %s: %d", email, st)
	}
	return b
}

// Do GETs path, or POSTs form to it with the session's CSRF token unless the
// form carries one, and returns the status, the Location header and the body.
func (b *Session) Do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = b.c.Get(b.s.URL + path)
	} else {
		if form == nil {
			form = url.Values{}
		}
		if form.Get("csrf_token") == "" {
			form.Set("csrf_token", b.csrf)
		}
		resp, err = b.c.PostForm(b.s.URL+path, form)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}
