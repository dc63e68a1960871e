package access_test

import (
	"net/http"
	"testing"

	"portico/internal/app/apptest"
)

type created struct {
	ID           string   `json:"id"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Name         string   `json:"name"`
	OwnerID      string   `json:"owner_id"`
	GrantTypes   []string `json:"grant_types"`
	Scopes       []string `json:"scopes"`
	Public       bool     `json:"public"`
}

func create(t *testing.T, s *apptest.Server, token string, body any) created {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/applications", token, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create application: %d %s", r.Status, r.Body)
	}
	var c created
	r.JSON(t, &c)
	return c
}

func TestApplications(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		other := s.NewUser(t, admin, "other@example.com", "developer")
		foreign := s.NewOrg(t, "acme")

		app := create(t, s, dev, map[string]any{"name": "Mobile", "callback_urls": []string{"https://app.example.com/cb"}})

		t.Run("creating answers the client credentials once", func(t *testing.T) {
			if app.ID == "" || app.ClientID == "" || len(app.ClientSecret) < 40 {
				t.Fatalf("created = %+v", app)
			}
			if len(app.GrantTypes) != 3 || len(app.Scopes) != 1 || app.Scopes[0] != "*" {
				t.Errorf("defaults: grants %v scopes %v", app.GrantTypes, app.Scopes)
			}
			r := s.Do(t, http.MethodGet, "/api/v1/applications/"+app.ID, dev, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("get: %d %s", r.Status, r.Body)
			}
			var got map[string]any
			r.JSON(t, &got)
			if _, ok := got["client_secret"]; ok {
				t.Error("GET shows the client secret")
			}
		})

		t.Run("a public client gets no secret and no client_credentials grant", func(t *testing.T) {
			pub := create(t, s, dev, map[string]any{"name": "SPA", "public": true, "callback_urls": []string{"http://localhost:3000/cb"}})
			if pub.ClientSecret != "" || !pub.Public {
				t.Fatalf("public app = %+v", pub)
			}
			for _, g := range pub.GrantTypes {
				if g == "client_credentials" {
					t.Errorf("public app may use client_credentials: %v", pub.GrantTypes)
				}
			}
			r := s.Do(t, http.MethodPost, "/api/v1/applications/"+pub.ID+"/secret", dev, nil)
			if r.Status != http.StatusConflict {
				t.Errorf("rotate a public client's secret: %d %s", r.Status, r.Body)
			}
		})

		t.Run("rotating the secret answers a new one", func(t *testing.T) {
			r := s.Do(t, http.MethodPost, "/api/v1/applications/"+app.ID+"/secret", dev, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("rotate: %d %s", r.Status, r.Body)
			}
			var c created
			r.JSON(t, &c)
			if c.ClientSecret == "" || c.ClientSecret == app.ClientSecret || c.ClientID != app.ClientID {
				t.Errorf("rotated = %+v", c)
			}
		})

		t.Run("each developer sees only their own; admins see all", func(t *testing.T) {
			create(t, s, other, map[string]any{"name": "Mobile"}) // the same name is fine for another owner
			var list struct {
				Items []created `json:"items"`
			}
			s.Do(t, http.MethodGet, "/api/v1/applications", dev, nil).JSON(t, &list)
			for _, it := range list.Items {
				if it.OwnerID != list.Items[0].OwnerID {
					t.Errorf("developer list holds another owner's app: %+v", it)
				}
			}
			if len(list.Items) != 2 {
				t.Errorf("developer sees %d apps, want 2", len(list.Items))
			}
			s.Do(t, http.MethodGet, "/api/v1/applications", admin, nil).JSON(t, &list)
			if len(list.Items) != 3 {
				t.Errorf("admin sees %d apps, want 3", len(list.Items))
			}
			s.Do(t, http.MethodGet, "/api/v1/applications", foreign, nil).JSON(t, &list)
			if len(list.Items) != 0 {
				t.Errorf("another organisation sees %d apps", len(list.Items))
			}
			if r := s.Do(t, http.MethodGet, "/api/v1/applications/"+app.ID, admin, nil); r.Status != http.StatusOK {
				t.Errorf("admin reads a developer's app: %d", r.Status)
			}
		})

		bad := []struct {
			name   string
			method string
			path   string
			token  string
			body   any
			status int
			code   string
		}{
			{"a duplicate name of the same owner is a conflict", "POST", "/api/v1/applications", dev, map[string]any{"name": "Mobile"}, 409, "application_name_taken"},
			{"another developer's application is not found", "GET", "/api/v1/applications/" + app.ID, other, nil, 404, "not_found"},
			{"another developer cannot delete it", "DELETE", "/api/v1/applications/" + app.ID, other, nil, 404, "not_found"},
			{"another developer cannot rotate its secret", "POST", "/api/v1/applications/" + app.ID + "/secret", other, nil, 404, "not_found"},
			{"another organisation's admin does not find it", "GET", "/api/v1/applications/" + app.ID, foreign, nil, 404, "not_found"},
			{"another organisation's admin cannot delete it", "DELETE", "/api/v1/applications/" + app.ID, foreign, nil, 404, "not_found"},
			{"an unknown id is not found", "GET", "/api/v1/applications/nope", dev, nil, 404, "not_found"},
			{"no token is unauthenticated", "GET", "/api/v1/applications", "", nil, 401, "unauthenticated"},
			{"an empty name is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "  "}, 400, "invalid_name"},
			{"a plain-http callback is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "X", "callback_urls": []string{"http://example.com/cb"}}, 400, "invalid_callback_url"},
			{"a callback with a fragment is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "X", "callback_urls": []string{"https://example.com/cb#x"}}, 400, "invalid_callback_url"},
			{"a relative callback is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "X", "callback_urls": []string{"/cb"}}, 400, "invalid_callback_url"},
			{"the implicit grant is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "X", "grant_types": []string{"implicit"}}, 400, "invalid_grant_type"},
			{"a public client with client_credentials is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "X", "public": true, "grant_types": []string{"client_credentials"}}, 400, "invalid_grant_type"},
			{"a malformed scope is refused", "POST", "/api/v1/applications", dev, map[string]any{"name": "X", "scopes": []string{"Read All"}}, 400, "invalid_scope"},
			{"a wrongly typed field is refused", "POST", "/api/v1/applications", dev, `{"name": 3}`, 400, "invalid_field"},
			{"a malformed body is refused", "POST", "/api/v1/applications", dev, `{"name":`, 400, "invalid_json"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(t, tc.method, tc.path, tc.token, tc.body)
				if r.Status != tc.status || r.ErrorCode() != tc.code {
					t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, r.Status, r.Body, tc.status, tc.code)
				}
			})
		}

		t.Run("deleting removes it", func(t *testing.T) {
			if r := s.Do(t, http.MethodDelete, "/api/v1/applications/"+app.ID, dev, nil); r.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.Status, r.Body)
			}
			if r := s.Do(t, http.MethodGet, "/api/v1/applications/"+app.ID, dev, nil); r.Status != http.StatusNotFound {
				t.Errorf("after delete: %d", r.Status)
			}
		})
	})
}
