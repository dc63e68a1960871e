package oauth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"portico/internal/app/apptest"
)

func TestKeyRotation(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		admin := s.AdminToken(t)
		c := newClient(t, s, admin, map[string]any{"name": "Batch"})
		cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.Secret, TokenURL: s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
		old, err := cc.Token(ctxWithClient(s))
		if err != nil {
			t.Fatal(err)
		}
		oldKID, _ := claims(t, s, old.AccessToken)

		keys := s.App.OAuth().Keys()
		version, _ := s.App.Store().ConfigVersion(ctx)
		newKID, err := keys.Rotate(ctx)
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if v, _ := s.App.Store().ConfigVersion(ctx); v <= version {
			t.Error("rotation did not bump the config version")
		}

		t.Run("new tokens carry the new kid", func(t *testing.T) {
			tok, err := cc.Token(ctxWithClient(s))
			if err != nil {
				t.Fatal(err)
			}
			kid, _ := claims(t, s, tok.AccessToken)
			if kid != newKID || kid == oldKID {
				t.Errorf("kid after rotation = %s, want %s (old %s)", kid, newKID, oldKID)
			}
		})

		t.Run("the old key stays in the JWKS and its tokens stay valid", func(t *testing.T) {
			var set jose.JSONWebKeySet
			s.Do(t, http.MethodGet, "/.well-known/jwks.json", "", nil).JSON(t, &set)
			if len(set.Keys) != 2 || set.Keys[0].KeyID != newKID || len(set.Key(oldKID)) != 1 {
				t.Errorf("JWKS after rotation: %d keys, first %s", len(set.Keys), set.Keys[0].KeyID)
			}
			for _, k := range set.Keys {
				if !k.IsPublic() {
					t.Errorf("JWKS publishes a private key: %s", k.KeyID)
				}
			}
			claims(t, s, old.AccessToken) // verifies with the JWKS
			if in := introspect(t, s, c, old.AccessToken); in["active"] != true {
				t.Errorf("a token of the old key is inactive: %v", in)
			}
		})

		t.Run("once its tokens have expired the old key leaves the JWKS", func(t *testing.T) {
			s.App.Store().DB(ctx).Exec("UPDATE oauth_signing_keys SET not_after = ? WHERE kid = ?", time.Now().UTC().Add(-time.Second), oldKID)
			if n := s.App.OAuth().Sweep(ctx); n < 1 {
				t.Errorf("janitor removed %d rows, want the retired key", n)
			}
			if err := keys.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			var set jose.JSONWebKeySet
			s.Do(t, http.MethodGet, "/.well-known/jwks.json", "", nil).JSON(t, &set)
			if len(set.Keys) != 1 || set.Keys[0].KeyID != newKID {
				t.Errorf("JWKS after expiry: %+v", set.Keys)
			}
		})
	})
}

func TestJanitor(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		admin := s.AdminToken(t)
		c := newClient(t, s, admin, map[string]any{"name": "Batch"})
		cc := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.Secret, TokenURL: s.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
		for range 3 {
			if _, err := cc.Token(ctxWithClient(s)); err != nil {
				t.Fatal(err)
			}
		}
		live, err := cc.Token(ctxWithClient(s))
		if err != nil {
			t.Fatal(err)
		}
		_, cl := claims(t, s, live.AccessToken)
		db := s.App.Store().DB(ctx)
		db.Exec("UPDATE oauth_access_tokens SET expires_at = ? WHERE jti <> ?", time.Now().UTC().Add(-time.Second), cl["jti"])
		db.Exec("INSERT INTO oauth_revoked_tokens (jti, client_id, expires_at, revoked_at) VALUES ('gone', ?, ?, ?)", c.ClientID, time.Now().UTC().Add(-time.Second), time.Now().UTC())
		if n := s.App.OAuth().Sweep(ctx); n != 4 {
			t.Errorf("janitor removed %d rows, want 4", n)
		}
		var left int64
		db.Table("oauth_access_tokens").Count(&left)
		if left != 1 {
			t.Errorf("%d access tokens left, want the live one", left)
		}
		if in := introspect(t, s, c, live.AccessToken); in["active"] != true {
			t.Errorf("live token after the janitor: %v", in)
		}
	})
}
