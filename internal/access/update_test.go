package access_test

import (
	"context"
	"errors"
	"testing"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/platform/apperr"
)

func principal(t *testing.T, s *apptest.Server, email string) account.Principal {
	t.Helper()
	u, _, err := s.App.Accounts().SignUp(context.Background(), account.Signup{Email: email, Password: "long-enough-1"})
	if err != nil {
		t.Fatal(err)
	}
	return account.Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role}
}

func ptr[T any](v T) *T { return &v }

func TestUpdateApplication(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		ctx := context.Background()
		svc := s.App.Access()
		alice, bob := principal(t, s, "alice@example.com"), principal(t, s, "bob@example.com")
		app, _, err := svc.Create(ctx, alice, access.NewApplication{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Create(ctx, alice, access.NewApplication{Name: "taken"}); err != nil {
			t.Fatal(err)
		}

		t.Run("the owner changes name, description and callback URLs", func(t *testing.T) {
			got, err := svc.Update(ctx, alice, app.ID, access.ApplicationChange{
				Name: ptr(" shop 2 "), Description: ptr("My shop"), CallbackURLs: &[]string{"https://shop.example.com/cb"},
			})
			if err != nil {
				t.Fatal(err)
			}
			again, _ := svc.Get(ctx, alice, app.ID)
			if got.Name != "shop 2" || again.Name != "shop 2" || again.Description != "My shop" ||
				len(again.CallbackURLs) != 1 || again.CallbackURLs[0] != "https://shop.example.com/cb" || again.ClientID != app.ClientID {
				t.Fatalf("after update: %+v", again)
			}
		})
		t.Run("nil fields are left alone", func(t *testing.T) {
			if _, err := svc.Update(ctx, alice, app.ID, access.ApplicationChange{Description: ptr("")}); err != nil {
				t.Fatal(err)
			}
			again, _ := svc.Get(ctx, alice, app.ID)
			if again.Name != "shop 2" || again.Description != "" || len(again.CallbackURLs) != 1 {
				t.Fatalf("after partial update: %+v", again)
			}
		})

		bad := []struct {
			name   string
			actor  account.Principal
			in     access.ApplicationChange
			field  string
			code   string
			kindIs apperr.Kind
		}{
			{"an empty name", alice, access.ApplicationChange{Name: ptr("  ")}, "name", "invalid_name", apperr.KindInvalid},
			{"a name the owner already uses", alice, access.ApplicationChange{Name: ptr("taken")}, "name", "application_name_taken", apperr.KindConflict},
			{"a too long description", alice, access.ApplicationChange{Description: ptr(string(make([]byte, 1001)))}, "description", "invalid_description", apperr.KindInvalid},
			{"an http callback on a public host", alice, access.ApplicationChange{CallbackURLs: &[]string{"http://evil.example.com/cb"}}, "callback_urls", "invalid_callback_url", apperr.KindInvalid},
			{"a callback with a fragment", alice, access.ApplicationChange{CallbackURLs: &[]string{"https://x.example.com/cb#f"}}, "callback_urls", "invalid_callback_url", apperr.KindInvalid},
			{"another developer's application", bob, access.ApplicationChange{Name: ptr("mine")}, "", "not_found", apperr.KindNotFound},
		}
		for _, tc := range bad {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				before, _ := svc.Get(ctx, alice, app.ID)
				_, err := svc.Update(ctx, tc.actor, app.ID, tc.in)
				ae, ok := apperr.As(err)
				if !ok || ae.Kind != tc.kindIs || ae.Code != tc.code || ae.Field != tc.field {
					t.Fatalf("got %v (%+v)", err, ae)
				}
				after, _ := svc.Get(ctx, alice, app.ID)
				if after.Name != before.Name || after.Description != before.Description || len(after.CallbackURLs) != len(before.CallbackURLs) {
					t.Fatalf("changed: %+v → %+v", before, after)
				}
			})
		}
		t.Run("another organisation's admin cannot see it", func(t *testing.T) {
			other := account.Principal{UserID: "x", OrgID: "other-org", Role: account.RoleAdmin}
			if _, err := svc.Update(ctx, other, app.ID, access.ApplicationChange{Name: ptr("x")}); !errors.Is(err, access.ErrNotFound) {
				t.Fatalf("got %v", err)
			}
		})
	})
}
