package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"portico/internal/app/apptest"
)

const devEmail, devPassword = "dev@example.com", "user-password-1"

// codeFlow runs the authorization code grant with PKCE through a logged-in
// browser and returns the code, its verifier and the callback URL.
func codeFlow(t *testing.T, s *apptest.Server, b *http.Client, conf *oauth2.Config, state string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	u := authorize(t, s, b, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), true)
	if u.Query().Get("state") != state {
		t.Fatalf("callback state = %q, want %q (%s)", u.Query().Get("state"), state, u)
	}
	code = u.Query().Get("code")
	if code == "" {
		t.Fatalf("callback without code: %s", u)
	}
	return code, verifier
}

func TestAuthorizationCode(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, devEmail, "developer")
		var me struct {
			ID string `json:"id"`
		}
		s.Do(t, http.MethodGet, "/api/v1/me", dev, nil).JSON(t, &me)
		c := newClient(t, s, dev, map[string]any{"name": "Web", "callback_urls": []string{callback}})
		conf := oauthConfig(s, c, "orders:read", "offline_access")
		ctx := ctxWithClient(s)
		b := s.Browser(t)

		t.Run("an anonymous visitor logs in through the portal first", func(t *testing.T) {
			authURL := conf.AuthCodeURL("state-123456", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
			resp, _ := get(t, b, authURL)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/portal/login?next=") {
				t.Fatalf("authorize anonymously: %d %s", resp.StatusCode, loc)
			}
			lu, _ := url.Parse(loc)
			next := lu.Query().Get("next")
			resp = login(t, s, b, devEmail, devPassword, next)
			if resp.Header.Get("Location") != next {
				t.Fatalf("after login: %s, want %s", resp.Header.Get("Location"), next)
			}
			// The consent page lists the scopes.
			resp, body := get(t, b, s.URL+next)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "orders:read") || !strings.Contains(body, "Web") {
				t.Fatalf("consent page: %d %s", resp.StatusCode, body)
			}
		})

		var tok *oauth2.Token
		t.Run("code with PKCE exchanges for an access and a refresh token", func(t *testing.T) {
			code, verifier := codeFlow(t, s, b, conf, "state-abcdefgh")
			var err error
			tok, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token with offline_access")
			}
			_, cl := claims(t, s, tok.AccessToken)
			checkRFC9068(t, s, cl, c.ClientID, me.ID, "orders:read offline_access")
			if in := introspect(t, s, c, tok.AccessToken); in["active"] != true || in["sub"] != me.ID || in["username"] != devEmail {
				t.Errorf("introspection = %v", in)
			}
		})

		t.Run("a remembered consent skips the consent page", func(t *testing.T) {
			verifier := oauth2.GenerateVerifier()
			resp, body := get(t, b, conf.AuthCodeURL("state-remembered", oauth2.S256ChallengeOption(verifier)))
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, callback+"?code=") {
				t.Fatalf("second authorization: %d %s %s", resp.StatusCode, loc, body)
			}
		})

		t.Run("refresh rotates the refresh token and refuses the old one", func(t *testing.T) {
			if tok == nil {
				t.Skip("no token from the code exchange")
			}
			// The oauth2 package refreshes an expired token through its TokenSource.
			old := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
			fresh, err := conf.TokenSource(ctx, old).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
				t.Fatalf("refresh did not rotate: %+v", fresh)
			}
			_, cl := claims(t, s, fresh.AccessToken)
			checkRFC9068(t, s, cl, c.ClientID, me.ID, "orders:read offline_access")
			_, first := claims(t, s, tok.AccessToken)
			if cl["jti"] == first["jti"] {
				t.Error("refreshed token repeats the jti")
			}

			r := post(t, s, "/oauth2/token", c.ClientID, c.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
			if r.Status != http.StatusBadRequest || rfcError(t, r) != "invalid_grant" {
				t.Fatalf("reusing the old refresh token: %d %s", r.Status, r.Body)
			}
			// Reuse is a sign of theft: the whole grant is revoked.
			if in := introspect(t, s, c, fresh.AccessToken); in["active"] != false {
				t.Errorf("after refresh-token reuse the newest access token is still active: %v", in)
			}
			r = post(t, s, "/oauth2/token", c.ClientID, c.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fresh.RefreshToken}})
			if rfcError(t, r) != "invalid_grant" {
				t.Errorf("after reuse the newest refresh token still works: %d %s", r.Status, r.Body)
			}
		})

		t.Run("revoking a refresh token revokes its grant", func(t *testing.T) {
			code, verifier := codeFlow(t, s, b, conf, "state-revoke-rt")
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			r := post(t, s, "/oauth2/revoke", c.ClientID, c.Secret, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			if in := introspect(t, s, c, tok.AccessToken); in["active"] != false {
				t.Errorf("access token still active: %v", in)
			}
			if in := introspect(t, s, c, tok.RefreshToken); in["active"] != false {
				t.Errorf("refresh token still active: %v", in)
			}
		})

		t.Run("denying consent sends access_denied to the callback", func(t *testing.T) {
			other := oauthConfig(s, c, "orders:write")
			u := authorize(t, s, b, other.AuthCodeURL("state-denied", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), false)
			if u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "state-denied" {
				t.Errorf("denied callback = %s", u)
			}
		})

		bad := []struct {
			name   string
			form   func(code, verifier string) url.Values
			status int
			err    string
		}{
			{"a wrong verifier is invalid_grant", func(code, _ string) url.Values {
				return url.Values{"code_verifier": {oauth2.GenerateVerifier()}, "code": {code}, "redirect_uri": {callback}}
			}, 400, "invalid_grant"},
			{"a missing verifier is invalid_grant", func(code, _ string) url.Values {
				return url.Values{"code": {code}, "redirect_uri": {callback}}
			}, 400, "invalid_grant"},
			{"a different redirect URI is invalid_grant", func(code, v string) url.Values {
				return url.Values{"code_verifier": {v}, "code": {code}, "redirect_uri": {"http://127.0.0.1:9999/other"}}
			}, 400, "invalid_grant"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				code, verifier := codeFlow(t, s, b, conf, "state-bad-input")
				form := tc.form(code, verifier)
				form.Set("grant_type", "authorization_code")
				r := post(t, s, "/oauth2/token", c.ClientID, c.Secret, form)
				if r.Status != tc.status || rfcError(t, r) != tc.err {
					t.Errorf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.err)
				}
			})
		}

		t.Run("a reused code is invalid_grant and revokes the grant's tokens", func(t *testing.T) {
			code, verifier := codeFlow(t, s, b, conf, "state-reuse-code")
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			var re *oauth2.RetrieveError
			if !asRetrieve(err, &re) || re.Response == nil || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != http.StatusBadRequest {
				t.Fatalf("second exchange: %v", err)
			}
			if in := introspect(t, s, c, tok.AccessToken); in["active"] != false {
				t.Errorf("access token of a reused code still active: %v", in)
			}
			if in := introspect(t, s, c, tok.RefreshToken); in["active"] != false {
				t.Errorf("refresh token of a reused code still active: %v", in)
			}
		})

		t.Run("an expired refresh token is invalid_grant", func(t *testing.T) {
			code, verifier := codeFlow(t, s, b, conf, "state-expired-rt")
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			// Every refresh token of this installation expires now.
			s.App.Store().DB(context.Background()).Exec("UPDATE oauth_refresh_tokens SET expires_at = ?", time.Now().UTC().Add(-time.Minute))
			r := post(t, s, "/oauth2/token", c.ClientID, c.Secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
			if r.Status != http.StatusBadRequest || rfcError(t, r) != "invalid_grant" {
				t.Errorf("expired refresh token: %d %s", r.Status, r.Body)
			}
		})

		t.Run("an unregistered redirect URI shows an error and never redirects", func(t *testing.T) {
			evil := *conf
			evil.RedirectURL = "https://evil.example.com/cb"
			resp, body := get(t, b, evil.AuthCodeURL("state-evil-uri", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("unregistered redirect: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
		})

		t.Run("an authorization request without PKCE is refused", func(t *testing.T) {
			u := authorize(t, s, b, conf.AuthCodeURL("state-no-pkce"), true)
			if u.Query().Get("error") != "invalid_request" {
				t.Errorf("no PKCE: %s", u)
			}
		})

		t.Run("a public client uses PKCE without a secret", func(t *testing.T) {
			pub := newClient(t, s, dev, map[string]any{"name": "SPA", "public": true, "callback_urls": []string{callback}})
			pconf := oauthConfig(s, pub, "orders:read")
			pconf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
			code, verifier := codeFlow(t, s, b, pconf, "state-public-cl")
			tok, err := pconf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("public exchange: %v", err)
			}
			_, cl := claims(t, s, tok.AccessToken)
			checkRFC9068(t, s, cl, pub.ClientID, me.ID, "orders:read")
		})
	})
}

func TestConcurrentCodeExchange(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, devEmail, "developer")
		c := newClient(t, s, dev, map[string]any{"name": "Web", "callback_urls": []string{callback}})
		conf := oauthConfig(s, c, "orders:read", "offline_access")
		b := s.Browser(t)
		login(t, s, b, devEmail, devPassword, "/")
		code, verifier := codeFlow(t, s, b, conf, "state-concurrent")

		const n = 4
		statuses := make(chan *apptest.Response, n)
		for range n {
			go func() {
				statuses <- post(t, s, "/oauth2/token", c.ClientID, c.Secret, url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {callback}})
			}()
		}
		ok := 0
		for range n {
			r := <-statuses
			switch {
			case r.Status == http.StatusOK:
				ok++
			case r.Status == http.StatusBadRequest && rfcError(t, r) == "invalid_grant":
			default:
				t.Errorf("concurrent exchange: %d %s", r.Status, r.Body)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent exchanges of one code succeeded, want 1", ok, n)
		}
	})
}
