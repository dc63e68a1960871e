package analytics_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// browser is a signed-in person: a cookie jar and the last page's CSRF token.
type browser struct {
	t    *testing.T
	s    *apptest.Server
	c    *http.Client
	csrf string
}

func (b *browser) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = b.c.Get(b.s.URL + path)
	} else {
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

func signedIn(t *testing.T, s *apptest.Server, email, password string) *browser {
	t.Helper()
	b := &browser{t: t, s: s, c: s.Browser(t)}
	b.do(http.MethodGet, "/portal/login", nil)
	if st, _, _ := b.do(http.MethodPost, "/portal/login", url.Values{"email": {email}, "password": {password}}); st != http.StatusSeeOther {
		t.Fatalf("login %s: %d", email, st)
	}
	return b
}

func TestAlertRuleFormOnTheDashboard(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := signedIn(t, s, apptest.AdminEmail, apptest.AdminPassword)
		if st, _, body := admin.do(http.MethodGet, "/publisher/analytics", nil); st != http.StatusOK || !strings.Contains(body, `value="backend_error_rate"`) {
			t.Fatalf("dashboard: %d, or the form lacks the backend-down kind", st)
		}
		refused := []struct {
			name, field, wantText string
			form                  url.Values
		}{
			{"a webhook to an internal address", "webhook_url", "alert webhooks go only to public addresses",
				url.Values{"metric": {"quota_used"}, "threshold": {"0.9"}, "webhook_url": {"http://169.254.169.254/latest"}}},
			{"a threshold that is not a number", "threshold", "threshold must be a number",
				url.Values{"metric": {"requests"}, "threshold": {"lots"}, "webhook_url": {"https://hooks.example.com/keep-me"}}},
			{"a quota share above one", "threshold", "fraction from 0 to 1",
				url.Values{"metric": {"quota_used"}, "threshold": {"3"}}},
			{"an unknown API", "api_id", "No API of your organisation has that id.",
				url.Values{"metric": {"requests"}, "threshold": {"1"}, "api_id": {"nope"}}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				st, _, body := admin.do(http.MethodPost, "/publisher/analytics/alerts", c.form)
				if st != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", st)
				}
				if !strings.Contains(body, `id="e-`+c.field+`"`) || !strings.Contains(body, c.wantText) {
					t.Fatalf("no error %q beside %s", c.wantText, c.field)
				}
				for _, v := range c.form {
					if v[0] != "" && c.field != "threshold" && !strings.Contains(body, `value="`+v[0]+`"`) && !strings.Contains(body, v[0]) {
						t.Fatalf("what was typed (%q) is not kept", v[0])
					}
				}
			})
		}
		t.Run("a bad form token is refused", func(t *testing.T) {
			st, _, _ := admin.do(http.MethodPost, "/publisher/analytics/alerts", url.Values{"csrf_token": {"forged"}, "metric": {"requests"}, "threshold": {"1"}})
			if st != http.StatusForbidden {
				t.Fatalf("status %d, want 403", st)
			}
		})
		t.Run("a good rule is added and listed", func(t *testing.T) {
			st, loc, _ := admin.do(http.MethodPost, "/publisher/analytics/alerts", url.Values{"metric": {"backend_error_rate"}, "operator": {"above"},
				"threshold": {"0.5"}, "window": {"10m"}})
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/publisher/analytics?done=") {
				t.Fatalf("status %d to %q, want 303 to the dashboard", st, loc)
			}
			var list struct {
				Items []struct{ Metric, Window string }
			}
			s.Do(t, http.MethodGet, "/api/v1/alerts", s.AdminToken(t), nil).JSON(t, &list)
			if len(list.Items) != 1 || list.Items[0].Metric != "backend_error_rate" || list.Items[0].Window != "10m" {
				t.Fatalf("rules: %+v", list.Items)
			}
		})
	})
}
