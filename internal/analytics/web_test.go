package analytics_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

func TestAlertRuleFormOnTheDashboard(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := apptest.SignIn(t, s, apptest.AdminEmail, apptest.AdminPassword)
		if st, _, body := admin.Do(http.MethodGet, "/publisher/analytics", nil); st != http.StatusOK || !strings.Contains(body, `value="backend_error_rate"`) {
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
				st, _, body := admin.Do(http.MethodPost, "/publisher/analytics/alerts", c.form)
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
			st, _, _ := admin.Do(http.MethodPost, "/publisher/analytics/alerts", url.Values{"csrf_token": {"forged"}, "metric": {"requests"}, "threshold": {"1"}})
			if st != http.StatusForbidden {
				t.Fatalf("status %d, want 403", st)
			}
		})
		t.Run("a good rule is added and listed", func(t *testing.T) {
			st, loc, _ := admin.Do(http.MethodPost, "/publisher/analytics/alerts", url.Values{"metric": {"backend_error_rate"}, "operator": {"above"},
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
