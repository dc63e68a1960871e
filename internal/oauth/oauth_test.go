package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"portico/internal/app/apptest"
)

func TestMetadata(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		var md map[string]any
		r := s.Do(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("metadata: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &md)
		base := s.Config.BaseURL
		for k, want := range map[string]string{
			"issuer": base, "token_endpoint": base + "/oauth2/token", "authorization_endpoint": base + "/oauth2/authorize",
			"jwks_uri": base + "/.well-known/jwks.json", "introspection_endpoint": base + "/oauth2/introspect",
			"revocation_endpoint": base + "/oauth2/revoke",
		} {
			if md[k] != want {
				t.Errorf("%s = %v, want %s", k, md[k], want)
			}
		}
		if r := s.Do(t, http.MethodGet, "/oauth2/token", "", nil); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET /oauth2/token: %d %s", r.Status, r.Body)
		}
		if m, _ := md["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
			t.Errorf("code_challenge_methods_supported = %v", md["code_challenge_methods_supported"])
		}
	})
}

func TestClientCredentials(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		c := newClient(t, s, dev, map[string]any{"name": "Batch"})
		ctx := ctxWithClient(s)

		cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.Secret, TokenURL: s.URL + "/oauth2/token",
			Scopes: []string{"orders:read", "orders:write"}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client credentials: %v", err)
		}
		if tok.TokenType != "bearer" && tok.TokenType != "Bearer" || tok.RefreshToken != "" || tok.Expiry.Before(time.Now().Add(50*time.Minute)) {
			t.Errorf("token = %+v", tok)
		}

		t.Run("the access token is an RFC 9068 JWT verifiable with the JWKS", func(t *testing.T) {
			_, cl := claims(t, s, tok.AccessToken)
			checkRFC9068(t, s, cl, c.ClientID, c.ClientID, "orders:read orders:write")
		})

		t.Run("client_secret_post works too", func(t *testing.T) {
			cc := cc
			cc.AuthStyle = oauth2.AuthStyleInParams
			cc.Scopes = nil
			if _, err := cc.Token(ctx); err != nil {
				t.Fatalf("client_secret_post: %v", err)
			}
		})

		t.Run("introspection says active with the token's facts", func(t *testing.T) {
			in := introspect(t, s, c, tok.AccessToken)
			if in["active"] != true || in["client_id"] != c.ClientID || in["scope"] != "orders:read orders:write" || in["sub"] != c.ClientID {
				t.Errorf("introspection = %v", in)
			}
		})

		t.Run("introspection needs an authenticated client", func(t *testing.T) {
			r := post(t, s, "/oauth2/introspect", c.ClientID, "wrong", url.Values{"token": {tok.AccessToken}})
			if r.Status != http.StatusUnauthorized {
				t.Errorf("introspect with a wrong secret: %d %s", r.Status, r.Body)
			}
			r = post(t, s, "/oauth2/introspect", "", "", url.Values{"token": {tok.AccessToken}})
			if r.Status != http.StatusUnauthorized {
				t.Errorf("introspect anonymously: %d %s", r.Status, r.Body)
			}
		})

		t.Run("revocation makes the token inactive and lists its jti for the gateway", func(t *testing.T) {
			ctx := context.Background()
			before, err := s.App.Store().ConfigVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r := post(t, s, "/oauth2/revoke", c.ClientID, c.Secret, url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}})
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Body)
			}
			if in := introspect(t, s, c, tok.AccessToken); in["active"] != false {
				t.Errorf("introspection after revocation = %v", in)
			}
			after, _ := s.App.Store().ConfigVersion(ctx)
			if after <= before {
				t.Errorf("config version %d → %d: revocation did not bump it", before, after)
			}
			_, cl := claims(t, s, tok.AccessToken)
			var n int64
			s.App.Store().DB(ctx).Table("oauth_revoked_tokens").Where("jti = ?", cl["jti"]).Count(&n)
			if n != 1 {
				t.Errorf("revoked list holds the jti %d times", n)
			}
			view, err := s.App.OAuth().GatewayView(ctx)
			if err != nil || len(view.RevokedJTIs) != 1 || view.RevokedJTIs[0] != cl["jti"] || len(view.SigningKeys) != 1 ||
				view.Issuer != s.Config.BaseURL || view.SigningKeys[0].Key == nil {
				t.Errorf("gateway view = %+v, %v", view, err)
			}
			// Revoking again (or an unknown token) is fine (RFC 7009 §2.2).
			if r := post(t, s, "/oauth2/revoke", c.ClientID, c.Secret, url.Values{"token": {tok.AccessToken}}); r.Status != http.StatusOK {
				t.Errorf("revoke twice: %d %s", r.Status, r.Body)
			}
		})

		t.Run("a rotated secret replaces the old one at once", func(t *testing.T) {
			r := s.Do(t, http.MethodPost, "/api/v1/applications/"+c.ID+"/secret", dev, nil)
			var out struct {
				ClientSecret string `json:"client_secret"`
			}
			r.JSON(t, &out)
			old := post(t, s, "/oauth2/token", c.ClientID, c.Secret, url.Values{"grant_type": {"client_credentials"}})
			if old.Status != http.StatusUnauthorized || rfcError(t, old) != "invalid_client" {
				t.Errorf("old secret: %d %s", old.Status, old.Body)
			}
			if r := post(t, s, "/oauth2/token", c.ClientID, out.ClientSecret, url.Values{"grant_type": {"client_credentials"}}); r.Status != http.StatusOK {
				t.Errorf("new secret: %d %s", r.Status, r.Body)
			}
		})
	})
}

func TestTokenEndpointErrors(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		c := newClient(t, s, dev, map[string]any{"name": "Batch", "scopes": []string{"orders:read"}})
		pub := newClient(t, s, dev, map[string]any{"name": "SPA", "public": true, "callback_urls": []string{callback}})
		narrow := newClient(t, s, dev, map[string]any{"name": "CodeOnly", "grant_types": []string{"authorization_code"}, "callback_urls": []string{callback}})

		cases := []struct {
			name        string
			id, secret  string
			contentType string
			body        string
			status      int
			code        string
		}{
			{"a wrong secret is invalid_client", c.ClientID, "cs_wrong", "", "grant_type=client_credentials", 401, "invalid_client"},
			{"an unknown client is invalid_client", "app_nobody", "x", "", "grant_type=client_credentials", 401, "invalid_client"},
			{"no client authentication is invalid_client", "", "", "", "grant_type=client_credentials", 401, "invalid_client"},
			{"the password grant is unsupported_grant_type", c.ClientID, c.Secret, "", "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"},
			{"an unknown grant is unsupported_grant_type", c.ClientID, c.Secret, "", "grant_type=urn:example:magic", 400, "unsupported_grant_type"},
			{"a missing grant_type is invalid_request", c.ClientID, c.Secret, "", "scope=orders:read", 400, "invalid_request"},
			{"an empty body is invalid_request", c.ClientID, c.Secret, "", "", 400, "invalid_request"},
			{"a JSON body is invalid_request", c.ClientID, c.Secret, "application/json", `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
			{"a malformed form is invalid_request", c.ClientID, c.Secret, "", "grant_type=%zz", 400, "invalid_request"},
			{"a scope the client may not ask for is invalid_scope", c.ClientID, c.Secret, "", "grant_type=client_credentials&scope=orders:write", 400, "invalid_scope"},
			{"a malformed scope is invalid_scope", c.ClientID, c.Secret, "", "grant_type=client_credentials&scope=Orders!", 400, "invalid_scope"},
			{"a public client cannot use client_credentials", pub.ClientID, "", "", "grant_type=client_credentials&client_id=" + pub.ClientID, 400, "invalid_grant"},
			{"a client without the grant is unauthorized_client", narrow.ClientID, narrow.Secret, "", "grant_type=client_credentials", 400, "unauthorized_client"},
			{"an unknown code is invalid_grant", c.ClientID, c.Secret, "", "grant_type=authorization_code&code=nope&redirect_uri=" + url.QueryEscape(callback), 400, "invalid_grant"},
			{"an unknown refresh token is invalid_grant", c.ClientID, c.Secret, "", "grant_type=refresh_token&refresh_token=nope", 400, "invalid_grant"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(tc.body))
				ct := tc.contentType
				if ct == "" {
					ct = "application/x-www-form-urlencoded"
				}
				req.Header.Set("Content-Type", ct)
				if tc.id != "" && tc.secret != "" {
					req.SetBasicAuth(tc.id, tc.secret)
				}
				r := s.Send(t, req)
				if r.Status != tc.status || rfcError(t, r) != tc.code {
					t.Errorf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
				}
				if r.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
				}
			})
		}
	})
}
