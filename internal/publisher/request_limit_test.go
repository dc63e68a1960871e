package publisher_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

// TestAPISettingsFormSetsTheBodyLimit: the publisher's settings form shows the
// API's largest request body, saves a new one, and refuses a bad one next to
// the field, keeping what was typed.
func TestAPISettingsFormSetsTheBodyLimit(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		var api struct{ ID string }
		r := s.Do(t, http.MethodPost, "/api/v1/apis", admin, map[string]any{"name": "Up", "context": "up", "version": "v1", "backend_url": "http://127.0.0.1:9"})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &api)
		b := logIn(t, s, apptest.AdminEmail, apptest.AdminPassword)
		path := "/publisher/apis/" + api.ID
		if _, page := b.get(path); !strings.Contains(page, `name="max_request_bytes"`) || !strings.Contains(page, `value="10485760"`) {
			t.Fatalf("the settings form lacks the body limit with its default")
		}
		form := func(limit string) url.Values {
			return url.Values{"name": {"Up"}, "endpoints": {"http://127.0.0.1:9"}, "balance": {"failover"}, "visibility": {"public"},
				"approval": {"auto"}, "timeout_ms": {"30000"}, "auth": {"api_key"}, "tiers": {"Unlimited"}, "backend_auth_type": {"none"},
				"max_request_bytes": {limit}}
		}
		cases := []struct {
			name   string
			value  string
			status int
			want   string // on the page afterwards
		}{
			{"a new limit is saved", "2048", http.StatusSeeOther, `value="2048"`},
			{"an empty field takes the default", "", http.StatusSeeOther, `value="10485760"`},
			{"words are refused by the field", "ten megs", http.StatusBadRequest, "whole bytes"},
			{"over 1 GiB is refused by the field", "2000000000", http.StatusBadRequest, "1 GiB"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := b.post(path, form(tc.value))
				if resp.StatusCode != tc.status {
					t.Fatalf("got %d, want %d: %.600s", resp.StatusCode, tc.status, body)
				}
				if tc.status == http.StatusSeeOther {
					_, body = b.get(path)
				} else if !strings.Contains(body, `value="`+tc.value+`"`) {
					t.Errorf("the refused form lost what was typed")
				}
				if !strings.Contains(body, tc.want) {
					t.Fatalf("page lacks %q", tc.want)
				}
			})
		}
	})
}
