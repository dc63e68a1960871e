package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/config"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

// TestPostgresOutage cuts the way to PostgreSQL while traffic flows: the gateway
// keeps serving from its snapshot, /readyz says the database is gone, the
// management API answers 503 in the contract's format (not 500), and all of it
// recovers when the database is back.
func TestPostgresOutage(t *testing.T) {
	var proxy *storetest.CutProxy
	s := apptest.Start(t, store.Postgres, func(c *config.Config) {
		target := strings.Split(strings.SplitN(c.Database.DSN, "@", 2)[1], "/")[0]
		proxy = storetest.NewCutProxy(t, target)
		c.Database.DSN = proxy.Through(t, c.Database.DSN)
	})
	be := newBackend(t)
	admin := s.AdminToken(t)
	var api struct{ ID string }
	mustDo(t, s, "POST", "/api/v1/apis", admin, map[string]any{"name": "Up", "context": "up", "version": "v1", "backend_url": be.URL, "auth": []string{"api_key"}, "tiers": []string{"Gold"}}, 201).JSON(t, &api)
	mustDo(t, s, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", admin, map[string]string{"action": "publish"}, 200)
	var app struct{ ID string }
	mustDo(t, s, "POST", "/api/v1/applications", admin, map[string]string{"name": "steady"}, 201).JSON(t, &app)
	var key struct{ Key string }
	mustDo(t, s, "POST", "/api/v1/applications/"+app.ID+"/keys", admin, nil, 201).JSON(t, &key)
	mustDo(t, s, "POST", "/api/v1/subscriptions", admin, map[string]string{"application_id": app.ID, "api_id": api.ID, "tier": "Gold"}, 201)
	within(t, propagation, "subscription", func() bool { return call(t, s, "GET", "/up/v1/x", "apikey", key.Key).Status == 200 })

	proxy.SetDown(true)
	for i := 0; i < 20; i++ {
		if r := call(t, s, "GET", "/up/v1/x", "apikey", key.Key); r.Status != 200 {
			t.Fatalf("call %d during the outage: %d %s", i, r.Status, r.Body)
		}
	}
	if r := s.Do(t, "GET", "/readyz", "", nil); r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "database_unavailable" {
		t.Fatalf("readyz during the outage: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz during the outage: %d", r.Status)
	}
	r := s.Do(t, "GET", "/api/v1/me", admin, nil)
	if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "database_unavailable" || strings.Contains(string(r.Body), "dial") {
		t.Fatalf("management API during the outage: %d %s", r.Status, r.Body)
	}

	proxy.SetDown(false)
	within(t, 10*time.Second, "recovery", func() bool { return s.Do(t, "GET", "/readyz", "", nil).Status == 200 })
	within(t, 10*time.Second, "management API back", func() bool { return s.Do(t, "GET", "/api/v1/me", admin, nil).Status == 200 })
	if r := call(t, s, "GET", "/up/v1/x", "apikey", key.Key); r.Status != 200 {
		t.Fatalf("after the outage: %d", r.Status)
	}
}
