package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"portico/internal/app/apptest"
)

const callback = "http://127.0.0.1:9999/callback"

type client struct {
	ID, ClientID, Secret string
}

func newClient(t testing.TB, s *apptest.Server, token string, body map[string]any) client {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/applications", token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create application: %d %s", r.Status, r.Body)
	}
	var c struct {
		ID           string `json:"id"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	r.JSON(t, &c)
	return client{ID: c.ID, ClientID: c.ClientID, Secret: c.ClientSecret}
}

// post sends a form to an OAuth endpoint, with HTTP Basic client
// authentication when id is set.
func post(t testing.TB, s *apptest.Server, path, id, secret string, form url.Values) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return s.Send(t, req)
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func rfcError(t testing.TB, r *apptest.Response) string {
	t.Helper()
	var e oauthError
	_ = json.Unmarshal(r.Body, &e)
	return e.Error
}

// introspect asks whether token is active, authenticated as c.
func introspect(t testing.TB, s *apptest.Server, c client, token string) map[string]any {
	t.Helper()
	r := post(t, s, "/oauth2/introspect", c.ClientID, c.Secret, url.Values{"token": {token}})
	if r.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	var out map[string]any
	r.JSON(t, &out)
	return out
}

// claims verifies an access token against the published JWKS and returns its
// header's kid and its claims.
func claims(t testing.TB, s *apptest.Server, token string) (string, map[string]any) {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	var set jose.JSONWebKeySet
	r.JSON(t, &set)
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	h := jws.Signatures[0].Header
	if h.KeyID == "" {
		t.Fatal("JWT header has no kid")
	}
	if typ, _ := h.ExtraHeaders["typ"].(string); typ != "at+jwt" {
		t.Errorf("typ = %q, want at+jwt", typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s is not in the JWKS (%d keys)", h.KeyID, len(set.Keys))
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("JWT does not verify with the JWKS: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return h.KeyID, c
}

// checkRFC9068 checks the claims every access token carries.
func checkRFC9068(t testing.TB, s *apptest.Server, c map[string]any, clientID, sub, scope string) {
	t.Helper()
	if c["iss"] != s.Config.BaseURL {
		t.Errorf("iss = %v, want %s", c["iss"], s.Config.BaseURL)
	}
	aud, _ := c["aud"].([]any)
	if len(aud) != 1 || aud[0] != s.Config.BaseURL {
		t.Errorf("aud = %v, want [%s]", c["aud"], s.Config.BaseURL)
	}
	if c["client_id"] != clientID {
		t.Errorf("client_id = %v, want %s", c["client_id"], clientID)
	}
	if c["sub"] != sub {
		t.Errorf("sub = %v, want %s", c["sub"], sub)
	}
	if c["scope"] != scope {
		t.Errorf("scope = %v, want %q", c["scope"], scope)
	}
	if jti, _ := c["jti"].(string); jti == "" {
		t.Error("no jti")
	}
	exp, _ := c["exp"].(float64)
	iat, _ := c["iat"].(float64)
	now := float64(time.Now().Unix())
	if exp <= now || exp > now+3700 || iat > now+5 || iat < now-60 {
		t.Errorf("exp %v / iat %v not around now %v", exp, iat, now)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
var actionRE = regexp.MustCompile(`<form method="post" action="(/oauth2/authorize[^"]*)"`)

// get fetches path with the browser and returns the answer read whole.
func get(t testing.TB, b *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func postForm(t testing.TB, b *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := b.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(s)
}

// login signs the browser in through the portal's log-in form, continuing to next.
func login(t testing.TB, s *apptest.Server, b *http.Client, email, password, next string) *http.Response {
	t.Helper()
	_, page := get(t, b, s.URL+"/portal/login?next="+url.QueryEscape(next))
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in the login form:\n%s", page)
	}
	resp, body := postForm(t, b, s.URL+"/portal/login", url.Values{
		"csrf_token": {m[1]}, "email": {email}, "password": {password}, "next": {next},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	return resp
}

// authorize drives the browser from the authorization URL to the callback and
// returns the callback URL it was sent to. approve decides the consent page;
// a remembered consent skips it.
func authorize(t testing.TB, s *apptest.Server, b *http.Client, authURL string, approve bool) *url.URL {
	t.Helper()
	resp, body := get(t, b, authURL)
	if resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), callback) {
		u, _ := url.Parse(resp.Header.Get("Location"))
		return u
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	csrf, action := csrfRE.FindStringSubmatch(body), actionRE.FindStringSubmatch(body)
	if csrf == nil || action == nil {
		t.Fatalf("consent page without form:\n%s", body)
	}
	decision := "deny"
	if approve {
		decision = "approve"
	}
	resp, body = postForm(t, b, s.URL+unescape(action[1]), url.Values{"csrf_token": {csrf[1]}, "consent": {decision}, "remember": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), callback) {
		t.Fatalf("consent redirected to %q", resp.Header.Get("Location"))
	}
	return u
}

func oauthConfig(s *apptest.Server, c client, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.Secret, RedirectURL: callback, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth2/authorize", TokenURL: s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
}

func ctxWithClient(s *apptest.Server) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, s.HTTP)
}

func asRetrieve(err error, target **oauth2.RetrieveError) bool {
	re, ok := err.(*oauth2.RetrieveError)
	if ok {
		*target = re
	}
	return ok
}
