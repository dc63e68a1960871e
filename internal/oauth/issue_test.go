package oauth_test

import (
	"context"
	"errors"
	"testing"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/oauth"
	"portico/internal/platform/apperr"
)

func TestIssueForOwner(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		signup := func(email string) account.Principal {
			u, _, err := s.App.Accounts().SignUp(ctx, account.Signup{Email: email, Password: "long-enough-1"})
			if err != nil {
				t.Fatal(err)
			}
			return account.Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role}
		}
		alice, bob := signup("alice@example.com"), signup("bob@example.com")
		app, secret, err := s.App.Access().Create(ctx, alice, access.NewApplication{Name: "shop", Scopes: []string{"pets:read", "pets:write"}})
		if err != nil {
			t.Fatal(err)
		}
		public, _, err := s.App.Access().Create(ctx, alice, access.NewApplication{Name: "spa", Public: true, CallbackURLs: []string{callback}})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("the owner gets the token the token endpoint would give", func(t *testing.T) {
			tok, err := s.App.OAuth().IssueForOwner(ctx, alice, app, []string{"pets:read"})
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "bearer" || tok.ExpiresIn <= 0 || tok.Scope != "pets:read" {
				t.Fatalf("token: %+v", tok)
			}
			_, c := claims(t, s, tok.AccessToken)
			checkRFC9068(t, s, c, app.ClientID, app.ClientID, "pets:read")
			if got := introspect(t, s, client{ClientID: app.ClientID, Secret: secret}, tok.AccessToken); got["active"] != true {
				t.Fatalf("introspection: %v", got)
			}
		})
		t.Run("without scopes the token has none", func(t *testing.T) {
			tok, err := s.App.OAuth().IssueForOwner(ctx, alice, app, nil)
			if err != nil || tok.AccessToken == "" || tok.Scope != "" {
				t.Fatalf("%+v %v", tok, err)
			}
		})
		cases := []struct {
			name   string
			actor  account.Principal
			app    access.Application
			scopes []string
			want   error
			code   string
		}{
			{"another developer's application", bob, app, nil, access.ErrNotFound, "not_found"},
			{"another organisation's admin", account.Principal{UserID: "x", OrgID: "elsewhere", Role: account.RoleAdmin}, app, nil, access.ErrNotFound, "not_found"},
			{"a public client", alice, public, nil, oauth.ErrNoClientCredentials, "client_credentials_not_allowed"},
			{"a scope the application may not ask for", alice, app, []string{"admin:all"}, nil, "invalid_scope"},
			{"a malformed scope", alice, app, []string{"Not A Scope"}, nil, "invalid_scope"},
		}
		for _, tc := range cases {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				_, err := s.App.OAuth().IssueForOwner(ctx, tc.actor, tc.app, tc.scopes)
				ae, ok := apperr.As(err)
				if !ok || ae.Code != tc.code || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("got %v", err)
				}
			})
		}
		t.Run("an application deleted since it was read is not found", func(t *testing.T) {
			gone, _, err := s.App.Access().Create(ctx, alice, access.NewApplication{Name: "gone"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.App.Access().Delete(ctx, alice, gone.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.App.OAuth().IssueForOwner(ctx, alice, gone, nil); !errors.Is(err, access.ErrNotFound) {
				t.Fatalf("got %v", err)
			}
		})
	})
}
