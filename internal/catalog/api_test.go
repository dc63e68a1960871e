package catalog_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"portico/internal/app/apptest"
	"portico/internal/catalog"
)

type apiJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Context        string   `json:"context"`
	Version        string   `json:"version"`
	State          string   `json:"state"`
	Actions        []string `json:"actions"`
	DefaultVersion bool     `json:"default_version"`
	BackendURL     string   `json:"backend_url"`
	GatewayURL     string   `json:"gateway_url"`
	Tiers          []string `json:"tiers"`
	Auth           []string `json:"auth"`
	BackendAuth    struct {
		Type, Username, Header, Password, Value string
	} `json:"backend_auth"`
	Operations int      `json:"operations"`
	Notes      []string `json:"notes"`
	Deprecated []string `json:"deprecated"`
}

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func petstore(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func create(t *testing.T, s *apptest.Server, tok string, body map[string]any) apiJSON {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/apis", tok, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create %v: %d %s", body, r.Status, r.Body)
	}
	var a apiJSON
	r.JSON(t, &a)
	return a
}

func move(t *testing.T, s *apptest.Server, tok, id, action string) *apptest.Response {
	t.Helper()
	return s.Do(t, http.MethodPost, "/api/v1/apis/"+id+"/lifecycle", tok, map[string]any{"action": action})
}

func TestAPIs(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)

		t.Run("create answers 201 in CREATED with the gateway URL", func(t *testing.T) {
			a := create(t, s, admin, map[string]any{"name": "Orders", "context": "orders", "version": "v1", "backend_url": "https://orders.example.com/api/", "tags": []string{"shop"}})
			if a.State != "CREATED" || a.ID == "" || a.BackendURL != "https://orders.example.com/api" || a.GatewayURL != s.Config.BaseURL+"/orders/v1" {
				t.Fatalf("%+v", a)
			}
			if strings.Join(a.Actions, ",") != "prototype,publish" || strings.Join(a.Tiers, ",") != "Unlimited" {
				t.Errorf("actions %v tiers %v", a.Actions, a.Tiers)
			}
		})

		bad := []struct {
			name   string
			body   map[string]any
			status int
			code   string
		}{
			{"a reserved context is refused", map[string]any{"name": "x", "context": "publisher", "version": "v1"}, 400, "reserved_context"},
			{"the api context is refused", map[string]any{"name": "x", "context": "/api", "version": "v1"}, 400, "reserved_context"},
			{"a context taken by another API", map[string]any{"name": "x", "context": "orders", "version": "v2"}, 409, "context_taken"},
			{"a bad context", map[string]any{"name": "x", "context": "a/b", "version": "v1"}, 400, "invalid_context"},
			{"a bad version", map[string]any{"name": "x", "context": "fine", "version": "v 1"}, 400, "invalid_version"},
			{"no name", map[string]any{"context": "fine", "version": "v1"}, 400, "invalid_name"},
			{"a bad backend", map[string]any{"name": "x", "context": "fine", "version": "v1", "backend_url": "ftp://x"}, 400, "invalid_backend_url"},
			{"an unknown tier", map[string]any{"name": "x", "context": "fine", "version": "v1", "tiers": []string{"Platinum"}}, 400, "unknown_tier"},
			{"an unknown auth type", map[string]any{"name": "x", "context": "fine", "version": "v1", "auth": []string{"saml"}}, 400, "invalid_auth"},
			{"a timeout out of range", map[string]any{"name": "x", "context": "fine", "version": "v1", "timeout_ms": 5}, 400, "invalid_timeout"},
			{"a wrongly typed field", map[string]any{"name": 5, "context": "fine", "version": "v1"}, 400, "invalid_field"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				r := s.Do(t, http.MethodPost, "/api/v1/apis", admin, tt.body)
				if r.Status != tt.status || r.ErrorCode() != tt.code {
					t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tt.status, tt.code)
				}
			})
		}

		t.Run("a context of another organisation answers 409", func(t *testing.T) {
			other := s.NewOrg(t, "acme")
			r := s.Do(t, http.MethodPost, "/api/v1/apis", other, map[string]any{"name": "x", "context": "orders", "version": "v9"})
			if r.Status != http.StatusConflict || r.ErrorCode() != "context_taken" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})

		t.Run("list searches and pages", func(t *testing.T) {
			for i := 0; i < 5; i++ {
				create(t, s, admin, map[string]any{"name": fmt.Sprintf("Inventory %d", i), "context": fmt.Sprintf("inv%d", i), "version": "v1", "description": "stock levels"})
			}
			var page list[apiJSON]
			s.Do(t, http.MethodGet, "/api/v1/apis?q=STOCK&limit=3", admin, nil).JSON(t, &page)
			if len(page.Items) != 3 || page.NextCursor == "" {
				t.Fatalf("first page %d items, cursor %q", len(page.Items), page.NextCursor)
			}
			var page2 list[apiJSON]
			s.Do(t, http.MethodGet, "/api/v1/apis?q=stock&limit=3&cursor="+page.NextCursor, admin, nil).JSON(t, &page2)
			if len(page2.Items) != 2 || page2.NextCursor != "" {
				t.Fatalf("second page %d items, cursor %q", len(page2.Items), page2.NextCursor)
			}
			var none list[apiJSON]
			s.Do(t, http.MethodGet, "/api/v1/apis?q=100%25", admin, nil).JSON(t, &none)
			if len(none.Items) != 0 {
				t.Fatalf("%% matched %d", len(none.Items))
			}
		})

		t.Run("patch changes settings but not the context", func(t *testing.T) {
			a := create(t, s, admin, map[string]any{"name": "Patchy", "context": "patchy", "version": "v1"})
			r := s.Do(t, http.MethodPatch, "/api/v1/apis/"+a.ID, admin, map[string]any{"name": "Patched", "tiers": []string{"Gold", "Bronze"},
				"backend_auth": map[string]any{"type": "header", "header": "X-Secret", "value": "s3cr3t"}})
			var got apiJSON
			r.JSON(t, &got)
			if r.Status != 200 || got.Name != "Patched" || strings.Join(got.Tiers, ",") != "Gold,Bronze" || got.BackendAuth.Header != "X-Secret" || strings.Contains(string(r.Body), "s3cr3t") {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var sealed string
			s.App.Store().DB(context.Background()).Raw("SELECT backend_secret FROM apis WHERE id = ?", a.ID).Scan(&sealed)
			if sealed == "" || strings.Contains(sealed, "s3cr3t") {
				t.Fatalf("stored secret %q", sealed)
			}
			stored, _ := s.App.Catalog().API(context.Background(), principalOf(t, s, a.ID), a.ID)
			cred, err := s.App.Catalog().BackendCredential(stored)
			if err != nil || cred.Secret != "s3cr3t" || cred.Name != "X-Secret" {
				t.Fatalf("credential %+v %v", cred, err)
			}
			if r := s.Do(t, http.MethodPatch, "/api/v1/apis/"+a.ID, admin, map[string]any{"context": "other"}); r.Status != 400 {
				t.Fatalf("context change: %d", r.Status)
			}
		})
	})
}

// principalOf is the bootstrap admin of the default organisation, for service calls.
func principalOf(t *testing.T, s *apptest.Server, _ string) accountPrincipal {
	t.Helper()
	return adminPrincipal(t, s)
}

func TestImport(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)

		t.Run("the Petstore imports with operations, scopes and backend", func(t *testing.T) {
			r := s.Do(t, http.MethodPost, "/api/v1/apis/import", admin, map[string]any{"spec": petstore(t), "context": "petstore"})
			if r.Status != http.StatusCreated {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var a apiJSON
			r.JSON(t, &a)
			if a.Name != "Swagger Petstore" || a.Version != "1.0.0" || a.Operations != 5 || a.BackendURL != "https://petstore3.swagger.io/api/v3" {
				t.Fatalf("%+v", a)
			}
			var ops list[catalog.OperationJSON]
			s.Do(t, http.MethodGet, "/api/v1/apis/"+a.ID+"/operations", admin, nil).JSON(t, &ops)
			if len(ops.Items) != 5 {
				t.Fatalf("%d operations", len(ops.Items))
			}
			var doc struct {
				Servers []struct{ URL string }
				Paths   map[string]any
			}
			s.Do(t, http.MethodGet, "/api/v1/apis/"+a.ID+"/openapi", admin, nil).JSON(t, &doc)
			if len(doc.Servers) != 1 || doc.Servers[0].URL != s.Config.BaseURL+"/petstore/1.0.0" || len(doc.Paths) != 4 {
				t.Fatalf("export %+v", doc)
			}
		})

		t.Run("overrides win over the spec", func(t *testing.T) {
			r := s.Do(t, http.MethodPost, "/api/v1/apis/import", admin, map[string]any{"spec": petstore(t), "context": "pets2", "version": "v2", "backend_url": "http://127.0.0.1:9/x"})
			var a apiJSON
			r.JSON(t, &a)
			if r.Status != 201 || a.Version != "v2" || a.BackendURL != "http://127.0.0.1:9/x" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})

		broken := []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"no spec", map[string]any{"context": "b1"}, 400, "empty_spec"},
			{"bad YAML", map[string]any{"context": "b2", "spec": "openapi: [3\n"}, 400, "invalid_yaml"},
			{"unresolved ref", map[string]any{"context": "b3", "spec": strings.Replace(petstore(t), `#/components/schemas/Pet" }`, `#/components/schemas/Dog" }`, 1)}, 400, "unresolved_ref"},
			{"a reserved context", map[string]any{"context": "admin", "spec": petstore(t)}, 400, "reserved_context"},
			{"a taken context", map[string]any{"context": "petstore", "version": "9", "spec": petstore(t)}, 409, "context_taken"},
			{"binary", map[string]any{"context": "b4", "spec": "\x00\x01\x02"}, 400, "binary_spec"},
			{"a loopback URL", map[string]any{"context": "b5", "url": s.URL + "/api/v1/openapi.json"}, 400, "address_not_allowed"},
			{"a link-local URL", map[string]any{"context": "b6", "url": "http://169.254.169.254/latest"}, 400, "address_not_allowed"},
			{"a huge body", map[string]any{"context": "b7", "spec": strings.Repeat("a", catalog.MaxSpecBytes+1)}, 413, "spec_too_large"},
		}
		for _, tt := range broken {
			t.Run(tt.name+" is refused and nothing is stored", func(t *testing.T) {
				var before, after list[apiJSON]
				s.Do(t, http.MethodGet, "/api/v1/apis?limit=200", admin, nil).JSON(t, &before)
				r := s.Do(t, http.MethodPost, "/api/v1/apis/import", admin, tt.body)
				if r.Status != tt.status || r.ErrorCode() != tt.code {
					t.Fatalf("%d %s; want %d %s", r.Status, r.Body, tt.status, tt.code)
				}
				s.Do(t, http.MethodGet, "/api/v1/apis?limit=200", admin, nil).JSON(t, &after)
				if len(after.Items) != len(before.Items) {
					t.Fatalf("%d APIs before, %d after", len(before.Items), len(after.Items))
				}
			})
		}

		t.Run("validate reports without storing", func(t *testing.T) {
			var out catalog.SpecCheckJSON
			s.Do(t, http.MethodPost, "/api/v1/openapi/validate", admin, map[string]any{"spec": "openapi: 3.0.3\n"}).JSON(t, &out)
			if out.Valid || out.Error == "" {
				t.Fatalf("%+v", out)
			}
			s.Do(t, http.MethodPost, "/api/v1/openapi/validate", admin, map[string]any{"spec": petstore(t)}).JSON(t, &out)
			if !out.Valid || out.Operations != 5 {
				t.Fatalf("%+v", out)
			}
		})
	})
}

func TestLifecycleThroughTheAPI(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		v1 := create(t, s, admin, map[string]any{"name": "Pets", "context": "pets", "version": "v1", "backend_url": "https://pets.example.com"})

		steps := []struct {
			action, want string
			status       int
		}{
			{"retire", "", 409},
			{"prototype", "PROTOTYPED", 200},
			{"prototype", "PROTOTYPED", 200},
			{"block", "", 409},
			{"publish", "PUBLISHED", 200},
			{"block", "BLOCKED", 200},
			{"publish", "", 409},
			{"unblock", "PUBLISHED", 200},
			{"demote", "CREATED", 200},
			{"publish", "PUBLISHED", 200},
		}
		for _, st := range steps {
			r := move(t, s, admin, v1.ID, st.action)
			var got apiJSON
			r.JSON(t, &got)
			if r.Status != st.status || (st.want != "" && got.State != st.want) {
				t.Fatalf("%s: %d %s", st.action, r.Status, r.Body)
			}
			if st.status == 409 && r.ErrorCode() != "illegal_transition" {
				t.Fatalf("%s: code %s", st.action, r.ErrorCode())
			}
		}
		if r := move(t, s, admin, v1.ID, "launch"); r.Status != 400 {
			t.Fatalf("unknown action: %d", r.Status)
		}

		t.Run("publishing needs a backend", func(t *testing.T) {
			nb := create(t, s, admin, map[string]any{"name": "NoBackend", "context": "nob", "version": "v1"})
			if r := move(t, s, admin, nb.ID, "publish"); r.Status != 409 || r.ErrorCode() != "backend_required" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if r := move(t, s, admin, nb.ID, "prototype"); r.Status != 200 {
				t.Fatalf("prototype without backend: %d %s", r.Status, r.Body)
			}
		})

		t.Run("a new version copies into CREATED and publishing it can deprecate v1", func(t *testing.T) {
			s.Do(t, http.MethodPost, "/api/v1/apis/"+v1.ID+"/operations", admin, map[string]any{"method": "get", "path": "/pets"})
			r := s.Do(t, http.MethodPost, "/api/v1/apis/"+v1.ID+"/versions", admin, map[string]any{"version": "v2", "default_version": true})
			var v2 apiJSON
			r.JSON(t, &v2)
			if r.Status != 201 || v2.State != "CREATED" || v2.Context != "pets" || !v2.DefaultVersion {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var ops list[catalog.OperationJSON]
			s.Do(t, http.MethodGet, "/api/v1/apis/"+v2.ID+"/operations", admin, nil).JSON(t, &ops)
			if len(ops.Items) != 1 {
				t.Fatalf("v2 has %d operations", len(ops.Items))
			}
			if r := s.Do(t, http.MethodPost, "/api/v1/apis/"+v1.ID+"/versions", admin, map[string]any{"version": "v2"}); r.Status != 409 || r.ErrorCode() != "version_taken" {
				t.Fatalf("duplicate version: %d %s", r.Status, r.Body)
			}
			r = s.Do(t, http.MethodPost, "/api/v1/apis/"+v2.ID+"/lifecycle", admin, map[string]any{"action": "publish", "deprecate_previous": true})
			var res apiJSON
			r.JSON(t, &res)
			if r.Status != 200 || res.State != "PUBLISHED" || len(res.Deprecated) != 1 || res.Deprecated[0] != v1.ID {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			var old apiJSON
			s.Do(t, http.MethodGet, "/api/v1/apis/"+v1.ID, admin, nil).JSON(t, &old)
			if old.State != "DEPRECATED" {
				t.Fatalf("v1 is %s", old.State)
			}
			// Only one default per context.
			s.Do(t, http.MethodPatch, "/api/v1/apis/"+v1.ID, admin, map[string]any{"default_version": true})
			s.Do(t, http.MethodGet, "/api/v1/apis/"+v2.ID, admin, nil).JSON(t, &v2)
			if v2.DefaultVersion {
				t.Fatal("two default versions")
			}
			if r := s.Do(t, http.MethodDelete, "/api/v1/apis/"+v1.ID, admin, nil); r.Status != 409 || r.ErrorCode() != "api_in_use" {
				t.Fatalf("delete deprecated: %d %s", r.Status, r.Body)
			}
			if r := move(t, s, admin, v1.ID, "retire"); r.Status != 200 {
				t.Fatalf("retire: %d %s", r.Status, r.Body)
			}
			if r := s.Do(t, http.MethodDelete, "/api/v1/apis/"+v1.ID, admin, nil); r.Status != 204 {
				t.Fatalf("delete retired: %d %s", r.Status, r.Body)
			}
		})

		t.Run("every move is audited and bumps the config version", func(t *testing.T) {
			ctx := context.Background()
			before, _ := s.App.Store().ConfigVersion(ctx)
			x := create(t, s, admin, map[string]any{"name": "Audited", "context": "audited", "version": "v1"})
			move(t, s, admin, x.ID, "prototype")
			after, _ := s.App.Store().ConfigVersion(ctx)
			if after < before+2 {
				t.Fatalf("config version %d → %d", before, after)
			}
			var n int64
			s.App.Store().DB(ctx).Raw("SELECT COUNT(*) FROM audit_events WHERE object_id = ? AND action = 'api.lifecycle' AND actor_email = ?", x.ID, apptest.AdminEmail).Scan(&n)
			if n != 1 {
				t.Fatalf("%d lifecycle audit rows", n)
			}
		})
	})
}

func TestTenantsAndRoles(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		a := create(t, s, admin, map[string]any{"name": "Mine", "context": "mine", "version": "v1", "backend_url": "https://m.example.com"})
		other := s.NewOrg(t, "other")
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		pub := s.NewUser(t, admin, "pub@example.com", "publisher")

		for _, path := range []string{"/api/v1/apis/" + a.ID, "/api/v1/apis/" + a.ID + "/operations", "/api/v1/apis/" + a.ID + "/openapi", "/api/v1/apis/" + a.ID + "/documents"} {
			if r := s.Do(t, http.MethodGet, path, other, nil); r.Status != 404 {
				t.Errorf("other org GET %s: %d", path, r.Status)
			}
		}
		if r := s.Do(t, http.MethodPatch, "/api/v1/apis/"+a.ID, other, map[string]any{"name": "x"}); r.Status != 404 {
			t.Errorf("other org PATCH: %d", r.Status)
		}
		if r := move(t, s, other, a.ID, "publish"); r.Status != 404 {
			t.Errorf("other org lifecycle: %d", r.Status)
		}
		var l list[apiJSON]
		s.Do(t, http.MethodGet, "/api/v1/apis", other, nil).JSON(t, &l)
		if len(l.Items) != 0 {
			t.Errorf("other org lists %d APIs", len(l.Items))
		}

		// Developers see only what the portal shows.
		if r := s.Do(t, http.MethodGet, "/api/v1/apis/"+a.ID, dev, nil); r.Status != 404 {
			t.Errorf("developer sees a CREATED API: %d", r.Status)
		}
		if r := s.Do(t, http.MethodPost, "/api/v1/apis", dev, map[string]any{"name": "x", "context": "devapi", "version": "v1"}); r.Status != 403 {
			t.Errorf("developer creates: %d", r.Status)
		}
		move(t, s, pub, a.ID, "publish")
		if r := s.Do(t, http.MethodGet, "/api/v1/apis/"+a.ID, dev, nil); r.Status != 200 {
			t.Errorf("developer cannot see a PUBLISHED API: %d", r.Status)
		}
		s.Do(t, http.MethodGet, "/api/v1/apis", dev, nil).JSON(t, &l)
		if len(l.Items) != 1 {
			t.Errorf("developer lists %d APIs", len(l.Items))
		}
		if r := move(t, s, dev, a.ID, "block"); r.Status != 403 {
			t.Errorf("developer blocks: %d", r.Status)
		}
	})
}

func TestOperationsDocumentsAndTiers(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		a := create(t, s, admin, map[string]any{"name": "Ops", "context": "ops", "version": "v1"})
		base := "/api/v1/apis/" + a.ID

		r := s.Do(t, http.MethodPost, base+"/operations", admin, map[string]any{"method": "get", "path": "/items/{id}", "scopes": []string{"items:read"}, "limit": map[string]any{"requests": 10, "per": "second"}})
		var op catalog.OperationJSON
		r.JSON(t, &op)
		if r.Status != 201 || op.Method != "GET" || op.Limit == nil || op.Limit.Requests != 10 || !op.Auth {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		for _, bad := range []map[string]any{
			{"method": "FETCH", "path": "/x"},
			{"method": "GET", "path": "x"},
			{"method": "GET", "path": "/x/{"},
			{"method": "GET", "path": "/items/{id}"},
			{"method": "GET", "path": "/y", "scopes": []string{"a b"}},
			{"method": "GET", "path": "/z", "limit": map[string]any{"requests": 5, "per": "week"}},
		} {
			if r := s.Do(t, http.MethodPost, base+"/operations", admin, bad); r.Status != 400 && r.Status != 409 {
				t.Errorf("%v: %d %s", bad, r.Status, r.Body)
			}
		}
		r = s.Do(t, http.MethodPatch, base+"/operations/"+op.ID, admin, map[string]any{"summary": "Fetch", "auth": false})
		r.JSON(t, &op)
		if r.Status != 200 || op.Summary != "Fetch" || op.Auth || op.Path != "/items/{id}" || op.Limit == nil {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if r := s.Do(t, http.MethodDelete, base+"/operations/"+op.ID, admin, nil); r.Status != 204 {
			t.Fatalf("delete: %d", r.Status)
		}

		r = s.Do(t, http.MethodPost, base+"/documents", admin, map[string]any{"title": "Start", "body": "# Hello\n<script>x()</script>"})
		var doc catalog.DocumentJSON
		r.JSON(t, &doc)
		if r.Status != 201 || !strings.Contains(doc.HTML, "<h1") || strings.Contains(doc.HTML, "<script") {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		if r := s.Do(t, http.MethodPost, base+"/documents", admin, map[string]any{"title": ""}); r.Status != 400 {
			t.Fatalf("untitled: %d", r.Status)
		}

		var tiers list[catalog.TierJSON]
		s.Do(t, http.MethodGet, "/api/v1/tiers", admin, nil).JSON(t, &tiers)
		names := []string{}
		for _, ti := range tiers.Items {
			names = append(names, fmt.Sprintf("%s:%d", ti.Name, ti.Requests))
		}
		if strings.Join(names, ",") != "Unlimited:0,Gold:5000,Silver:2000,Bronze:1000" {
			t.Fatalf("tiers %v", names)
		}
		r = s.Do(t, http.MethodPost, "/api/v1/tiers", admin, map[string]any{"name": "Partner", "requests": 100, "per": "hour", "burst": 10, "monthly_fee_cents": 4900, "per_call_cents": 1})
		if r.Status != 201 {
			t.Fatalf("custom tier: %d %s", r.Status, r.Body)
		}
		for _, bad := range []map[string]any{
			{"name": "Partner", "requests": 1, "per": "day"},
			{"name": "Zero", "requests": 0},
			{"name": "Weekly", "requests": 1, "per": "week"},
			{"name": "Neg", "requests": 1, "monthly_fee_cents": -1},
		} {
			if r := s.Do(t, http.MethodPost, "/api/v1/tiers", admin, bad); r.Status != 400 && r.Status != 409 {
				t.Errorf("%v: %d %s", bad, r.Status, r.Body)
			}
		}
		// A new organisation sees the built-ins too.
		other := s.NewOrg(t, "neworg")
		s.Do(t, http.MethodGet, "/api/v1/tiers", other, nil).JSON(t, &tiers)
		if len(tiers.Items) != 4 {
			t.Fatalf("new organisation has %d tiers", len(tiers.Items))
		}
	})
}
