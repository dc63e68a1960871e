package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/platform/apperr"
)

func TestBranding(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := apptest.SignIn(t, s, apptest.AdminEmail, apptest.AdminPassword)

		t.Run("the admin sets name, logo and colour, and the portal wears them", func(t *testing.T) {
			st, body := func() (int, string) { st, _, b := admin.Do(http.MethodGet, "/admin/branding", nil); return st, b }()
			if st != http.StatusOK || !strings.Contains(body, `value="Default"`) {
				t.Fatalf("%d", st)
			}
			st, loc, _ := admin.Do(http.MethodPost, "/admin/branding", url.Values{"name": {"Acme APIs"}, "logo_url": {"https://cdn.example.com/acme.png"}, "brand_color": {"#0A8"}})
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/branding") {
				t.Fatalf("%d %s", st, loc)
			}
			anon := apptest.Anonymous(t, s)
			_, _, page := anon.Do(http.MethodGet, "/portal/default", nil)
			for _, want := range []string{`style="--brand: #00aa88; --brand-ink: #1c2330"`, `src="https://cdn.example.com/acme.png"`, "Acme APIs"} {
				if !strings.Contains(page, want) {
					t.Errorf("portal lacks %q", want)
				}
			}
		})

		bad := []struct {
			name, field, value, want string
		}{
			{"an empty name", "name", " ", "Give the organisation a name"},
			{"a javascript: logo", "logo_url", "javascript:alert(1)", "absolute https:// URL"},
			{"an http logo", "logo_url", "http://cdn.example.com/x.png", "absolute https:// URL"},
			{"a protocol-relative logo", "logo_url", "//evil.example.com/x.png", "absolute https:// URL"},
			{"a logo with quotes", "logo_url", `https://x.example.com/"onerror="x`, "absolute https:// URL"},
			{"a colour that is not hex", "brand_color", "red; background: url(x)", "hex colour"},
			{"a five-digit colour", "brand_color", "#12345", "hex colour"},
		}
		for _, tc := range bad {
			t.Run("refuses "+tc.name+" and changes nothing", func(t *testing.T) {
				form := url.Values{"name": {"Acme APIs"}, "logo_url": {""}, "brand_color": {""}}
				form.Set(tc.field, tc.value)
				st, _, body := admin.Do(http.MethodPost, "/admin/branding", form)
				if st != http.StatusBadRequest || !strings.Contains(body, tc.want) || !strings.Contains(body, "has-error") {
					t.Fatalf("%d: %q not shown", st, tc.want)
				}
				org, _ := s.App.Accounts().FirstOrg(context.Background())
				if org.Name != "Acme APIs" || org.BrandColor != "#00aa88" || org.LogoURL != "https://cdn.example.com/acme.png" {
					t.Fatalf("changed: %+v", org)
				}
			})
		}
		t.Run("a path on this site is a fine logo, and empty resets", func(t *testing.T) {
			for _, logo := range []string{"/static/logo.png", ""} {
				if st, _, _ := admin.Do(http.MethodPost, "/admin/branding", url.Values{"name": {"Acme"}, "logo_url": {logo}, "brand_color": {""}}); st != http.StatusSeeOther {
					t.Fatalf("%q: %d", logo, st)
				}
			}
			_, _, page := admin.Do(http.MethodGet, "/portal/default", nil)
			if strings.Contains(page, "--brand:") || strings.Contains(page, `class="logo"`) {
				t.Fatal("branding not reset")
			}
		})
		t.Run("only admins brand", func(t *testing.T) {
			token := s.AdminToken(t)
			s.NewUser(t, token, "pub@example.com", "publisher")
			pub := apptest.SignIn(t, s, "pub@example.com", "user-password-1")
			if st, _, _ := pub.Do(http.MethodGet, "/admin/branding", nil); st != http.StatusForbidden {
				t.Fatalf("GET: %d", st)
			}
			_, err := s.App.Accounts().UpdateBranding(context.Background(), account.Principal{OrgID: "x", Role: account.RolePublisher}, account.Branding{Name: "x"})
			if !apperr.IsKind(err, apperr.KindForbidden) {
				t.Fatalf("service: %v", err)
			}
		})
	})
}

func TestBrandInk(t *testing.T) {
	cases := []struct{ color, ink string }{
		{"#000000", "#ffffff"}, {"#2f5bd3", "#ffffff"}, {"#ffffff", "#1c2330"}, {"#ffd500", "#1c2330"}, {"", ""}, {"#abc", ""},
	}
	for _, tc := range cases {
		if got := (account.Organization{BrandColor: tc.color}).BrandInk(); got != tc.ink {
			t.Errorf("%q: ink %q, want %q", tc.color, got, tc.ink)
		}
	}
}
