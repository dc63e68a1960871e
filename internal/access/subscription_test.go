package access_test

import (
	"net/http"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

// world is an organisation with a publisher's API and two developers.
type world struct {
	s                 *apptest.Server
	admin, pub, alice string
	bob               string
	apiID             string
}

func newWorld(t *testing.T, s *apptest.Server) *world {
	w := &world{s: s}
	w.admin = s.AdminToken(t)
	w.pub = s.NewUser(t, w.admin, "pub@example.com", "publisher")
	w.alice = s.NewUser(t, w.admin, "alice@example.com", "developer")
	w.bob = s.NewUser(t, w.admin, "bob@example.com", "developer")
	w.apiID = w.api(t, "pets", "auto", "publish")
	return w
}

// api creates an API and moves it with the given lifecycle actions.
func (w *world) api(t *testing.T, ctx, approval string, actions ...string) string {
	t.Helper()
	r := w.s.Do(t, "POST", "/api/v1/apis", w.pub, map[string]any{
		"name": ctx, "context": ctx, "version": "v1", "backend_url": "http://127.0.0.1:9/base",
		"tiers": []string{"Bronze", "Gold"}, "approval": approval,
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	var api struct{ ID string }
	r.JSON(t, &api)
	for _, a := range actions {
		if r := w.s.Do(t, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", w.pub, map[string]string{"action": a}); r.Status != 200 {
			t.Fatalf("%s: %d %s", a, r.Status, r.Body)
		}
	}
	return api.ID
}

func (w *world) app(t *testing.T, token, name string) string {
	t.Helper()
	r := w.s.Do(t, "POST", "/api/v1/applications", token, map[string]string{"name": name})
	if r.Status != http.StatusCreated {
		t.Fatalf("create application: %d %s", r.Status, r.Body)
	}
	var app struct{ ID string }
	r.JSON(t, &app)
	return app.ID
}

func TestSubscribe(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		app := w.app(t, w.alice, "shop")
		before := s.Do(t, "GET", "/api/v1/subscriptions", w.alice, nil)

		r := s.Do(t, "POST", "/api/v1/subscriptions", w.alice, map[string]string{"application_id": app, "api_id": w.apiID, "tier": "Bronze"})
		var sub struct{ ID, Status, Tier string }
		r.JSON(t, &sub)
		if r.Status != 201 || sub.Status != "ACTIVE" || sub.Tier != "Bronze" {
			t.Fatalf("subscribe: %d %s", r.Status, r.Body)
		}

		created := w.api(t, "draft", "auto")
		retired := w.api(t, "gone", "auto", "publish", "deprecate", "retire")
		deprecated := w.api(t, "oldie", "auto", "publish", "deprecate")
		proto := w.api(t, "proto", "auto", "prototype")
		other := s.NewOrg(t, "globex")
		cases := []struct {
			name   string
			token  string
			body   map[string]string
			status int
			code   string
		}{
			{"twice", w.alice, map[string]string{"application_id": app, "api_id": w.apiID, "tier": "Gold"}, 409, "already_subscribed"},
			{"tier that does not exist", w.alice, map[string]string{"application_id": w.app(t, w.alice, "shop3"), "api_id": w.apiID, "tier": "Diamond"}, 400, "tier_not_allowed"},
			{"tier not offered", w.alice, map[string]string{"application_id": w.app(t, w.alice, "shop2"), "api_id": w.apiID, "tier": "Silver"}, 400, "tier_not_allowed"},
			{"CREATED API", w.alice, map[string]string{"application_id": app, "api_id": created, "tier": "Bronze"}, 404, "not_found"},
			{"RETIRED API", w.alice, map[string]string{"application_id": app, "api_id": retired, "tier": "Bronze"}, 404, "not_found"},
			{"DEPRECATED API", w.alice, map[string]string{"application_id": app, "api_id": deprecated, "tier": "Bronze"}, 409, "api_deprecated"},
			{"PROTOTYPED API", w.alice, map[string]string{"application_id": app, "api_id": proto, "tier": "Bronze"}, 409, "api_prototype"},
			{"someone else's application", w.bob, map[string]string{"application_id": app, "api_id": w.apiID, "tier": "Bronze"}, 404, "not_found"},
			{"another organisation", other, map[string]string{"application_id": app, "api_id": w.apiID, "tier": "Bronze"}, 404, "not_found"},
			{"missing tier", w.alice, map[string]string{"application_id": app, "api_id": w.apiID}, 400, "missing_tier"},
			{"missing application", w.alice, map[string]string{"api_id": w.apiID, "tier": "Bronze"}, 400, "missing_application"},
			{"publisher subscribing to a CREATED API", w.pub, map[string]string{"application_id": w.app(t, w.pub, "p"), "api_id": created, "tier": "Bronze"}, 409, "api_not_published"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(t, "POST", "/api/v1/subscriptions", tc.token, tc.body)
				if r.Status != tc.status || r.ErrorCode() != tc.code {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
		// Nothing was written by the refusals: alice has exactly one subscription.
		var list struct{ Items []struct{ ID string } }
		s.Do(t, "GET", "/api/v1/subscriptions", w.alice, nil).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != sub.ID || before.Status != 200 {
			t.Fatalf("subscriptions after refusals: %+v", list)
		}
		// Bob cannot see it; the publisher can.
		if r := s.Do(t, "GET", "/api/v1/subscriptions/"+sub.ID, w.bob, nil); r.Status != 404 {
			t.Fatalf("bob reads alice's subscription: %d", r.Status)
		}
		if r := s.Do(t, "GET", "/api/v1/subscriptions/"+sub.ID, w.pub, nil); r.Status != 200 {
			t.Fatalf("publisher reads it: %d", r.Status)
		}
		if r := s.Do(t, "DELETE", "/api/v1/subscriptions/"+sub.ID, w.bob, nil); r.Status != 404 {
			t.Fatalf("bob deletes alice's subscription: %d", r.Status)
		}
		if r := s.Do(t, "DELETE", "/api/v1/subscriptions/"+sub.ID, w.alice, nil); r.Status != 204 {
			t.Fatalf("alice unsubscribes: %d", r.Status)
		}
	})
}

func TestApprovalAndModeration(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		manual := w.api(t, "vip", "manual", "publish")
		app := w.app(t, w.alice, "shop")
		r := s.Do(t, "POST", "/api/v1/subscriptions", w.alice, map[string]string{"application_id": app, "api_id": manual, "tier": "Gold"})
		var sub struct{ ID, Status string }
		r.JSON(t, &sub)
		if r.Status != 201 || sub.Status != "PENDING" {
			t.Fatalf("manual approval: %d %s", r.Status, r.Body)
		}
		steps := []struct {
			token, action string
			status        int
			want          string
		}{
			{w.alice, "approve", 403, ""},
			{w.pub, "block", 409, ""},
			{w.pub, "approve", 200, "ACTIVE"},
			{w.pub, "approve", 409, ""},
			{w.pub, "block", 200, "BLOCKED"},
			{w.pub, "unblock", 200, "ACTIVE"},
			{w.pub, "reject", 409, ""},
		}
		for i, st := range steps {
			r := s.Do(t, "POST", "/api/v1/subscriptions/"+sub.ID+"/"+st.action, st.token, nil)
			var got struct{ Status string }
			if r.Status == 200 {
				r.JSON(t, &got)
			}
			if r.Status != st.status || got.Status != st.want {
				t.Fatalf("step %d %s: %d %s", i, st.action, r.Status, r.Body)
			}
		}
		other := s.NewOrg(t, "initech")
		if r := s.Do(t, "POST", "/api/v1/subscriptions/"+sub.ID+"/block", other, nil); r.Status != 404 {
			t.Fatalf("another organisation moderating: %d", r.Status)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		app := w.app(t, w.alice, "shop")
		r := s.Do(t, "POST", "/api/v1/applications/"+app+"/keys", w.alice, map[string]string{"name": "ci"})
		var k struct{ ID, Key, Prefix, Name string }
		r.JSON(t, &k)
		if r.Status != 201 || len(k.Key) < 40 || k.Prefix != k.Key[:10] || k.Name != "ci" || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, "POST", "/api/v1/applications/"+app+"/keys", w.alice, nil); r.Status != 201 {
			t.Fatalf("key without a body: %d %s", r.Status, r.Body)
		}
		r = s.Do(t, "GET", "/api/v1/applications/"+app+"/keys", w.alice, nil)
		if r.Status != 200 || contains(string(r.Body), k.Key) {
			t.Fatalf("list shows the key: %s", r.Body)
		}
		for name, tc := range map[string]struct {
			token, path string
			body        any
			status      int
		}{
			"bob makes a key on alice's app": {w.bob, "/api/v1/applications/" + app + "/keys", nil, 404},
			"bob lists alice's keys":         {w.bob, "/api/v1/applications/" + app + "/keys", nil, 404},
			"expiry in the past":             {w.alice, "/api/v1/applications/" + app + "/keys", map[string]string{"expires_at": "2001-01-01T00:00:00Z"}, 400},
			"expiry not a time":              {w.alice, "/api/v1/applications/" + app + "/keys", map[string]string{"expires_at": "tomorrow"}, 400},
		} {
			t.Run(name, func(t *testing.T) {
				method := "POST"
				if name == "bob lists alice's keys" {
					method = "GET"
				}
				if r := s.Do(t, method, tc.path, tc.token, tc.body); r.Status != tc.status {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
		if r := s.Do(t, "DELETE", "/api/v1/applications/"+app+"/keys/"+k.ID, w.bob, nil); r.Status != 404 {
			t.Fatalf("bob revokes alice's key: %d", r.Status)
		}
		if r := s.Do(t, "DELETE", "/api/v1/applications/"+app+"/keys/"+k.ID, w.alice, nil); r.Status != 204 {
			t.Fatalf("revoke: %d", r.Status)
		}
		if r := s.Do(t, "DELETE", "/api/v1/applications/"+app+"/keys/"+k.ID, w.alice, nil); r.Status != 404 {
			t.Fatalf("revoke twice: %d", r.Status)
		}
		for i := 0; i < 19; i++ {
			s.Do(t, "POST", "/api/v1/applications/"+app+"/keys", w.alice, nil)
		}
		if r := s.Do(t, "POST", "/api/v1/applications/"+app+"/keys", w.alice, nil); r.Status != 409 || r.ErrorCode() != "too_many_keys" {
			t.Fatalf("21st key: %d %s", r.Status, r.Body)
		}
	})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestUpdateApplicationThroughTheAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		app := w.app(t, w.alice, "shop")
		w.app(t, w.alice, "other")
		r := s.Do(t, "PATCH", "/api/v1/applications/"+app, w.alice, map[string]any{"name": "store", "callback_urls": []string{"https://store.example.com/cb"}})
		var got struct {
			Name         string
			CallbackURLs []string `json:"callback_urls"`
		}
		r.JSON(t, &got)
		if r.Status != 200 || got.Name != "store" || len(got.CallbackURLs) != 1 {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		for name, tc := range map[string]struct {
			token  string
			body   any
			status int
			code   string
		}{
			"a name alice already uses":    {w.alice, map[string]any{"name": "other"}, 409, "application_name_taken"},
			"an empty name":                {w.alice, map[string]any{"name": " "}, 400, "invalid_name"},
			"a callback that is not a URL": {w.alice, map[string]any{"callback_urls": []string{"not a url"}}, 400, ""},
			"bob's attempt":                {w.bob, map[string]any{"name": "mine"}, 404, "not_found"},
			"malformed JSON":               {w.alice, "{", 400, "invalid_json"},
		} {
			t.Run(name, func(t *testing.T) {
				r := s.Do(t, "PATCH", "/api/v1/applications/"+app, tc.token, tc.body)
				if r.Status != tc.status || (tc.code != "" && r.ErrorCode() != tc.code) {
					t.Fatalf("%d %s", r.Status, r.Body)
				}
			})
		}
	})
}

func TestApplicationTiers(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	w := newWorld(t, s)
	r := s.Do(t, "POST", "/api/v1/applications", w.alice, map[string]string{"name": "limited", "tier": "10PerMin"})
	var app struct{ ID, Tier string }
	r.JSON(t, &app)
	if r.Status != 201 || app.Tier != "10PerMin" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := s.Do(t, "POST", "/api/v1/applications", w.alice, map[string]string{"name": "x", "tier": "1000PerSec"}); r.Status != 400 || r.ErrorCode() != "invalid_tier" {
		t.Fatalf("unknown tier: %d %s", r.Status, r.Body)
	}
	var def struct{ Tier string }
	s.Do(t, "POST", "/api/v1/applications", w.alice, map[string]string{"name": "plain"}).JSON(t, &def)
	if def.Tier != "Unlimited" {
		t.Fatalf("default tier %q", def.Tier)
	}
	r = s.Do(t, "PATCH", "/api/v1/applications/"+app.ID, w.alice, map[string]string{"tier": "50PerMin"})
	r.JSON(t, &app)
	if r.Status != 200 || app.Tier != "50PerMin" {
		t.Fatalf("change tier: %d %s", r.Status, r.Body)
	}
}
