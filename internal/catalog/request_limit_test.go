package catalog_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/catalog"
)

// TestMaxRequestBytes: the per-API body limit is set through the management
// API, shown on the API, checked for range, and enforced by the gateway (413
// before the backend sees the call).
func TestMaxRequestBytes(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		var hits atomic.Int64
		be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			n, _ := io.Copy(io.Discard, r.Body)
			io.WriteString(w, strings.Repeat("x", int(n%7)))
		}))
		defer be.Close()
		admin := s.AdminToken(t)
		var api struct {
			ID              string
			MaxRequestBytes int64 `json:"max_request_bytes"`
		}
		r := s.Do(t, http.MethodPost, "/api/v1/apis", admin, map[string]any{"name": "Up", "context": "up", "version": "v1", "backend_url": be.URL, "auth": []string{}})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &api)
		if api.MaxRequestBytes != catalog.DefaultMaxRequestBytes {
			t.Fatalf("a new API allows %d bytes, want the default %d", api.MaxRequestBytes, catalog.DefaultMaxRequestBytes)
		}

		cases := []struct {
			name   string
			value  any
			status int
			want   int64
		}{
			{"a limit in range is kept", 2048, 200, 2048},
			{"0 takes the default", 0, 200, catalog.DefaultMaxRequestBytes},
			{"the maximum is allowed", catalog.MaxMaxRequestBytes, 200, catalog.MaxMaxRequestBytes},
			{"a negative limit is refused", -1, 400, 0},
			{"more than 1 GiB is refused", catalog.MaxMaxRequestBytes + 1, 400, 0},
			{"a string is refused", "10MB", 400, 0},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(t, http.MethodPatch, "/api/v1/apis/"+api.ID, admin, map[string]any{"max_request_bytes": tc.value})
				if r.Status != tc.status {
					t.Fatalf("got %d %s, want %d", r.Status, r.Body, tc.status)
				}
				if tc.status == 400 {
					if code := r.ErrorCode(); code != "invalid_max_request_bytes" && code != "invalid_field" {
						t.Fatalf("refusal code %q: %s", code, r.Body)
					}
					return
				}
				var got struct {
					MaxRequestBytes int64 `json:"max_request_bytes"`
				}
				r.JSON(t, &got)
				if got.MaxRequestBytes != tc.want {
					t.Fatalf("max_request_bytes %d, want %d", got.MaxRequestBytes, tc.want)
				}
			})
		}

		// The gateway enforces it once published.
		if r := s.Do(t, http.MethodPatch, "/api/v1/apis/"+api.ID, admin, map[string]any{"max_request_bytes": 100}); r.Status != 200 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		if r := s.Do(t, http.MethodPost, "/api/v1/apis/"+api.ID+"/lifecycle", admin, map[string]string{"action": "publish"}); r.Status != 200 {
			t.Fatalf("publish: %d %s", r.Status, r.Body)
		}
		post := func(n int) *http.Response {
			resp, err := http.Post(s.URL+"/up/v1/items", "text/plain", strings.NewReader(strings.Repeat("b", n)))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		for deadline := time.Now().Add(3 * time.Second); post(100).StatusCode != 200; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the published API never answered a 100-byte call")
			}
		}
		before := hits.Load()
		if resp := post(101); resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("a 101-byte call got %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if hits.Load() != before {
			t.Fatal("the backend saw a call over the limit")
		}
	})
}
