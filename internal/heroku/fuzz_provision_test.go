package heroku_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"portico/internal/app/apptest"
	"portico/internal/config"
	"portico/internal/heroku/herokutest"
)

// FuzzProvision posts arbitrary provisioning bodies to the partner API of a
// real Portico (SQLite), as Heroku would with valid Basic auth. Heroku retries
// a 5xx for hours, so a body Portico cannot use must get a 4xx; every answer is
// Heroku's JSON shape; an accepted add-on names the uuid it was given and a
// second delivery of the same body gets the same answer.
func FuzzProvision(f *testing.F) {
	fake := herokutest.New(f, clientSecret)
	s := apptest.Start(f, "sqlite", func(c *config.Config) {
		c.Heroku = config.Heroku{AddonID: addonID, AddonPassword: addonPW, SSOSalt: ssoSalt, ClientSecret: clientSecret,
			APIBase: fake.URL, IDBase: fake.URL}
	})
	for _, b := range []string{
		`{"uuid":"0a1b2c3d-0000-4000-8000-00000000f001","name":"portico-f1","plan":"test","region":"amazon-web-services::us-east-1","callback_url":"https://api.heroku.com/addons/x","options":{"backend_url":"https://example.com/api"},"oauth_grant":{"code":"c","expires_at":"2026-01-01T00:00:00-0000","type":"authorization_code"},"log_input_url":"https://token:t.abc@1.us.logplex.io/logs","something_new":{"x":1}}`,
		`{"uuid":"0a1b2c3d-0000-4000-8000-00000000f002","name":"shiny","plan":"starter","options":{"app":"shiny-app"}}`,
		`{"uuid":"0A1B2C3D-0000-4000-8000-00000000F003","plan":"pro","options":{"backend":"http://10.0.0.1:8080/"}}`,
		`{"uuid":"0a1b2c3d-0000-4000-8000-00000000f004","plan":"test","options":{"app":7}}`,
		`{"uuid":"not-a-uuid","plan":"test"}`,
		`{"uuid":"0a1b2c3d-0000-4000-8000-00000000f005","plan":"platinum"}`,
		`{"uuid":"0a1b2c3d-0000-4000-8000-00000000f006","plan":"test","options":{"backend_url":"https://user:pw@example.com"}}`,
		`{"uuid":"0a1b2c3d-0000-4000-8000-00000000f007","plan":"test","name":"` + strings.Repeat("ü", 300) + `","oauth_grant":{"expires_at":"yesterday"}}`,
		`{"uuid":null,"plan":["test"]}`,
		`[]`, `null`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(b))
	}
	post := func(t *testing.T, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/heroku/resources", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/vnd.heroku-addons+json; version=3")
		req.SetBasicAuth(addonID, addonPW)
		r := s.Send(t, req)
		var out map[string]any
		if r.Status >= 500 {
			t.Fatalf("%d for %q: %s", r.Status, body, r.Body)
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("%d answer is not JSON (%v): %q", r.Status, err, r.Body)
		}
		return r.Status, out
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := post(t, body)
		if status >= 300 {
			if msg, _ := out["message"].(string); msg == "" {
				t.Fatalf("%d without a message: %v", status, out)
			}
			return
		}
		var in struct{ UUID string }
		_ = json.Unmarshal(body, &in)
		if id, _ := out["id"].(string); id == "" || id != strings.ToLower(strings.TrimSpace(in.UUID)) {
			t.Fatalf("provisioned %q for uuid %q", out["id"], in.UUID)
		}
		again, out2 := post(t, body)
		if again != status || out2["id"] != out["id"] {
			t.Fatalf("a second delivery got %d %v; the first %d %v", again, out2, status, out)
		}
	})
}
