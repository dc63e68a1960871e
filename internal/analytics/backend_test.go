package analytics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
)

// TestGatewayRecordsCallsItCouldNotCompleteAtTheBackend: calls through a real
// gateway to a backend that is down or too slow are counted as backend errors
// (summary and backend_error_rate alert); a backend that answers 502 itself is
// up and is not.
func TestGatewayRecordsCallsItCouldNotCompleteAtTheBackend(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
		defer sick.Close()

		ids := map[string]string{}
		for _, api := range []struct{ name, backend string }{{"down", "http://127.0.0.1:1"}, {"slow", slow.URL}, {"sick", sick.URL}} {
			r := s.Do(t, http.MethodPost, "/api/v1/apis", admin, map[string]any{"name": api.name, "context": api.name, "version": "v1",
				"backend_url": api.backend, "auth": []string{}, "timeout_ms": 200})
			if r.Status != http.StatusCreated {
				t.Fatalf("create API: %d %s", r.Status, r.Body)
			}
			var out struct{ ID string }
			r.JSON(t, &out)
			ids[api.name] = out.ID
			if r := s.Do(t, http.MethodPost, "/api/v1/apis/"+out.ID+"/lifecycle", admin, map[string]string{"action": "publish"}); r.Status != http.StatusOK {
				t.Fatalf("publish: %d %s", r.Status, r.Body)
			}
		}
		rule := s.Do(t, http.MethodPost, "/api/v1/alerts", admin, map[string]any{"api_id": ids["down"], "metric": "backend_error_rate", "threshold": 0.5, "window": "5m"})
		if rule.Status != http.StatusCreated {
			t.Fatalf("create rule: %d %s", rule.Status, rule.Body)
		}
		var created struct{ ID string }
		rule.JSON(t, &created)

		const calls = 3
		for name := range ids {
			// Propagation is another test's subject (the contract's 1 s): here a
			// loaded machine under -race gets room.
			deadline := time.Now().Add(30 * time.Second)
			for n := 0; n < calls; {
				r := s.Do(t, http.MethodGet, "/"+name+"/v1/x", "", nil)
				if r.Status == http.StatusNotFound && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond) // not yet in the gateway's snapshot
					continue
				}
				if r.Status != http.StatusBadGateway && r.Status != http.StatusGatewayTimeout {
					t.Fatalf("%s: %d %s", name, r.Status, r.Body)
				}
				n++
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.App.AnalyticsSink().Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]int64{"down": calls, "slow": calls, "sick": 0} {
			var sum struct {
				Requests      int64
				BackendErrors int64 `json:"backend_errors"`
			}
			s.Do(t, http.MethodGet, "/api/v1/analytics/summary?api_id="+ids[name], admin, nil).JSON(t, &sum)
			if sum.Requests < calls || sum.BackendErrors != want {
				t.Fatalf("%s: %+v, want %d backend errors", name, sum, want)
			}
		}

		if err := s.App.Analytics().Evaluate(ctx); err != nil {
			t.Fatal(err)
		}
		var got struct {
			Firing     bool
			LastValue  float64 `json:"last_value"`
			LastDetail string  `json:"last_detail"`
		}
		s.Do(t, http.MethodGet, "/api/v1/alerts/"+created.ID, admin, nil).JSON(t, &got)
		if !got.Firing || got.LastValue != 1 || !strings.Contains(got.LastDetail, "could not be completed at the backend") {
			t.Fatalf("backend-down rule after the calls: %+v", got)
		}
	})
}
