package analytics_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/platform/metering"
)

type summaryJSON struct {
	Requests  int64
	Errors    int64
	LatencyMS struct{ P50, P95, P99 float64 } `json:"latency_ms"`
}

type errorJSON struct {
	Error struct{ Code, Message, Field string }
}

func orgOf(t *testing.T, s *apptest.Server, token string) string {
	t.Helper()
	var me struct {
		OrgID string `json:"org_id"`
	}
	s.Do(t, http.MethodGet, "/api/v1/me", token, nil).JSON(t, &me)
	return me.OrgID
}

func newApp(t *testing.T, s *apptest.Server, token, name string) string {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/applications", token, map[string]any{"name": name})
	if r.Status != http.StatusCreated {
		t.Fatalf("create application: %d %s", r.Status, r.Body)
	}
	var out struct{ ID string }
	r.JSON(t, &out)
	return out.ID
}

func TestUsageAPIScopesDevelopersToTheirApplications(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev1 := s.NewUser(t, admin, "dev1@example.com", "developer")
		dev2 := s.NewUser(t, admin, "dev2@example.com", "developer")
		publisher := s.NewUser(t, admin, "pub@example.com", "publisher")
		other := s.NewOrg(t, "acme")
		org := orgOf(t, s, admin)
		app1, app2 := newApp(t, s, dev1, "one"), newApp(t, s, dev2, "two")

		meter := s.App.Meter()
		now := time.Now().UTC()
		for i := 0; i < 7; i++ {
			meter.Record(metering.Event{Time: now, APIID: "api-a", Operation: "GET /pets", ApplicationID: app1, OrgID: org, Status: 200, Latency: 20 * time.Millisecond})
		}
		for i := 0; i < 3; i++ {
			status := 200
			if i == 0 {
				status = 500
			}
			meter.Record(metering.Event{Time: now, APIID: "api-b", Operation: "POST /orders", ApplicationID: app2, OrgID: org, Status: status, Latency: 80 * time.Millisecond})
		}

		// The contract: calls show in the summary within 2 s (the sink writes every second).
		deadline := time.Now().Add(2 * time.Second)
		var sum summaryJSON
		for {
			r := s.Do(t, http.MethodGet, "/api/v1/analytics/summary", admin, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("summary: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &sum)
			if sum.Requests == 10 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if sum.Requests != 10 || sum.Errors != 1 {
			t.Fatalf("admin summary after 2 s: %+v, want 10 requests, 1 error", sum)
		}

		cases := []struct {
			name     string
			token    string
			query    string
			status   int
			requests int64
		}{
			{"a publisher sees the organisation", publisher, "", 200, 10},
			{"a developer sees only their applications", dev1, "", 200, 7},
			{"the other developer sees only theirs", dev2, "", 200, 3},
			{"a developer may filter on their application", dev1, "application_id=" + app1, 200, 7},
			{"another developer's application is not found", dev1, "application_id=" + app2, 404, 0},
			{"an admin filters on any application of the organisation", admin, "application_id=" + app2, 200, 3},
			{"an admin filters on an API", admin, "api_id=api-a", 200, 7},
			{"another organisation sees none of it", other, "", 200, 0},
			{"another organisation's application is not found", other, "application_id=" + app1, 404, 0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, http.MethodGet, "/api/v1/analytics/summary?"+c.query, c.token, nil)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
				}
				if c.status != 200 {
					return
				}
				var got summaryJSON
				r.JSON(t, &got)
				if got.Requests != c.requests {
					t.Fatalf("requests %d, want %d", got.Requests, c.requests)
				}
			})
		}

		t.Run("a developer's top applications list only theirs", func(t *testing.T) {
			var top struct{ Items []struct{ ID, Name string } }
			s.Do(t, http.MethodGet, "/api/v1/analytics/top/applications", dev1, nil).JSON(t, &top)
			if len(top.Items) != 1 || top.Items[0].ID != app1 || top.Items[0].Name != "one" {
				t.Fatalf("top applications for dev1: %+v", top.Items)
			}
		})
		t.Run("the timeseries counts every call", func(t *testing.T) {
			var ts struct {
				Points []struct {
					T        time.Time
					Requests int64
					P95      float64 `json:"p95_ms"`
				}
			}
			q := url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Minute).Format(time.RFC3339)}, "interval": {"minute"}}
			s.Do(t, http.MethodGet, "/api/v1/analytics/timeseries?"+q.Encode(), admin, nil).JSON(t, &ts)
			var total int64
			for _, p := range ts.Points {
				total += p.Requests
			}
			if total != 10 || len(ts.Points) < 60 {
				t.Fatalf("%d points, %d requests", len(ts.Points), total)
			}
		})
		t.Run("the error breakdown shows the 500", func(t *testing.T) {
			var errs struct{ Items []struct{ ID string } }
			s.Do(t, http.MethodGet, "/api/v1/analytics/errors", admin, nil).JSON(t, &errs)
			if len(errs.Items) != 1 || errs.Items[0].ID != "500" {
				t.Fatalf("errors: %+v", errs.Items)
			}
		})
	})
}

func TestUsageAPIRefusesBadQueries(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	admin := s.AdminToken(t)
	long := strings.Repeat("x", 101)
	cases := []struct {
		name, path string
		status     int
		field      string
	}{
		{"from is not RFC 3339", "/api/v1/analytics/summary?from=yesterday", 400, "from"},
		{"to is not RFC 3339", "/api/v1/analytics/summary?to=2025-13-01", 400, "to"},
		{"from after to", "/api/v1/analytics/summary?from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z", 400, "from"},
		{"a range over 400 days", "/api/v1/analytics/summary?from=2020-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", 400, "from"},
		{"an unknown interval", "/api/v1/analytics/timeseries?interval=week", 400, "interval"},
		{"too many minutes", "/api/v1/analytics/timeseries?interval=minute&from=2025-01-01T00:00:00Z&to=2025-01-31T00:00:00Z", 400, "interval"},
		{"a limit of zero", "/api/v1/analytics/top/apis?limit=0", 400, "limit"},
		{"a limit that is not a number", "/api/v1/analytics/top/apis?limit=ten", 400, "limit"},
		{"an overlong api_id", "/api/v1/analytics/summary?api_id=" + long, 400, "api_id"},
		{"an unknown dimension", "/api/v1/analytics/top/planets", 404, ""},
		{"an unknown application", "/api/v1/analytics/summary?application_id=nope", 404, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Do(t, http.MethodGet, c.path, admin, nil)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			var e errorJSON
			r.JSON(t, &e)
			if e.Error.Field != c.field || e.Error.Code == "" {
				t.Fatalf("error %+v, want field %q", e.Error, c.field)
			}
		})
	}
	t.Run("without a token", func(t *testing.T) {
		if r := s.Do(t, http.MethodGet, "/api/v1/analytics/summary", "", nil); r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d", r.Status)
		}
	})
}

func TestAlertRulesAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		other := s.NewOrg(t, "acme")

		if r := s.Do(t, http.MethodPost, "/api/v1/alerts", dev, map[string]any{"metric": "requests", "threshold": 1}); r.Status != http.StatusForbidden {
			t.Fatalf("a developer creating a rule: %d %s", r.Status, r.Body)
		}
		bad := []struct {
			name  string
			body  string
			field string
			code  string
		}{
			{"unknown metric", `{"metric":"cpu","threshold":1}`, "metric", "invalid_metric"},
			{"no threshold", `{"metric":"requests"}`, "threshold", "required"},
			{"bad window", `{"metric":"requests","threshold":1,"window":"5 minutes"}`, "window", "invalid_window"},
			{"bad webhook", `{"metric":"requests","threshold":1,"webhook_url":"javascript:alert(1)"}`, "webhook_url", "invalid_url"},
			{"quota used over 100%", `{"metric":"quota_used","threshold":1.2}`, "threshold", "invalid_threshold"},
			{"webhook to loopback", `{"metric":"requests","threshold":1,"webhook_url":"http://127.0.0.1:8080/hook"}`, "webhook_url", "address_not_allowed"},
			{"webhook to localhost", `{"metric":"backend_error_rate","threshold":0.5,"webhook_url":"http://localhost/hook"}`, "webhook_url", "address_not_allowed"},
			{"webhook to cloud metadata", `{"metric":"quota_used","threshold":0.9,"webhook_url":"http://169.254.169.254/latest"}`, "webhook_url", "address_not_allowed"},
			{"webhook to a private network", `{"metric":"requests_ratio","threshold":2,"webhook_url":"https://10.1.2.3/hook"}`, "webhook_url", "address_not_allowed"},
		}
		for _, c := range bad {
			t.Run(c.name, func(t *testing.T) {
				r := s.Do(t, http.MethodPost, "/api/v1/alerts", admin, c.body)
				if r.Status != http.StatusBadRequest {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				var e errorJSON
				r.JSON(t, &e)
				if e.Error.Field != c.field || e.Error.Code != c.code {
					t.Fatalf("field %q code %q, want %q %q", e.Error.Field, e.Error.Code, c.field, c.code)
				}
			})
		}
		if r := s.Do(t, http.MethodPost, "/api/v1/alerts", admin, `{"metric":"requests","threshold":1,"api_id":"nope"}`); r.Status != http.StatusNotFound {
			t.Fatalf("a rule on an unknown API: %d %s", r.Status, r.Body)
		}
		r := s.Do(t, http.MethodPost, "/api/v1/alerts", admin, `{"metric":"error_rate","threshold":0.05,"window":"10m","webhook_url":"https://hooks.example.com/p"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var full map[string]any
		r.JSON(t, &full)
		ruleID, _ := full["id"].(string)
		if full["window"] != "10m" || !strings.HasPrefix(fmt.Sprint(full["webhook_secret"]), "whsec_") || full["firing"] != false {
			t.Fatalf("rule: %v", full)
		}
		var list struct{ Items []map[string]any }
		s.Do(t, http.MethodGet, "/api/v1/alerts", admin, nil).JSON(t, &list)
		if len(list.Items) != 1 {
			t.Fatalf("list: %v", list.Items)
		}
		if r := s.Do(t, http.MethodGet, "/api/v1/alerts/"+ruleID, other, nil); r.Status != http.StatusNotFound {
			t.Fatalf("another organisation reading the rule: %d", r.Status)
		}
		if r := s.Do(t, http.MethodGet, "/api/v1/alerts/"+ruleID+"/history", admin, nil); r.Status != http.StatusOK {
			t.Fatalf("history: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, http.MethodDelete, "/api/v1/alerts/"+ruleID, other, nil); r.Status != http.StatusNotFound {
			t.Fatalf("another organisation deleting the rule: %d", r.Status)
		}
		if r := s.Do(t, http.MethodDelete, "/api/v1/alerts/"+ruleID, admin, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	})
}
