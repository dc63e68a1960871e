package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"portico/internal/gateway/snapshot"
)

const petSpec = `{"openapi":"3.0.3","info":{"title":"Pets","version":"1"},
"servers":[{"url":"https://backend.example.com/api"}],
"paths":{
 "/pets/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer"}},
   {"name":"limit","in":"query","schema":{"type":"integer","maximum":100}}],"responses":{"200":{"description":"ok"}}}},
 "/pets":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object","required":["name"],
   "properties":{"name":{"type":"string","minLength":1},"age":{"type":"integer","minimum":0}}}}}},"responses":{"201":{"description":"made"}}}}}}`

func TestRequestValidation(t *testing.T) {
	var gotBody string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.WriteHeader(200)
	}))
	defer be.Close()
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "p", OrgID: "o", Context: "pets", Version: "v1", Default: true,
		State: snapshot.StatePublished, Backends: []string{be.URL}, ValidateRequests: true, Spec: petSpec,
		Operations: []snapshot.Operation{{Method: "GET", Path: "/pets/{id}"}, {Method: "POST", Path: "/pets"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		mention                  string
	}{
		{"valid get", "GET", "/pets/v1/pets/3?limit=10", "", 200, ""},
		{"path parameter of the wrong type", "GET", "/pets/v1/pets/abc", "", 400, `"id"`},
		{"query over its maximum", "GET", "/pets/v1/pets/3?limit=1000", "", 400, `"limit"`},
		{"valid body", "POST", "/pets/v1/pets", `{"name":"Rex","age":3}`, 200, ""},
		{"missing required field", "POST", "/pets/v1/pets", `{"age":3}`, 400, "name"},
		{"field of the wrong type", "POST", "/pets/v1/pets", `{"name":"Rex","age":"old"}`, 400, "age"},
		{"not JSON", "POST", "/pets/v1/pets", `{"name":`, 400, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotBody = ""
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			json.Unmarshal(rec.Body.Bytes(), &e)
			if tc.status == 400 && (e.Error.Code != "invalid_request" || !strings.Contains(e.Error.Message, tc.mention)) {
				t.Fatalf("error does not name %s: %s", tc.mention, rec.Body)
			}
			if tc.status == 200 && gotBody != tc.body {
				t.Fatalf("backend got body %q, want %q", gotBody, tc.body)
			}
		})
	}
}
