package catalog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"portico/internal/platform/apperr"
)

func TestPublicAddress(t *testing.T) {
	for _, tt := range []struct {
		ip     string
		public bool
	}{
		{"8.8.8.8", true}, {"2606:4700::1111", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fd00::1", false}, {"0.0.0.0", false}, {"::", false},
		{"100.64.0.1", false}, {"224.0.0.1", false}, {"::ffff:127.0.0.1", false}, {"64:ff9b::a00:1", false},
	} {
		if got := PublicAddress(netip.MustParseAddr(tt.ip)); got != tt.public {
			t.Errorf("PublicAddress(%s) = %v", tt.ip, got)
		}
	}
}

func TestFetcher(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/spec.yaml":
			w.Write([]byte("openapi: 3.0.3\n"))
		case "/huge":
			chunk := []byte(strings.Repeat("a", 1<<20))
			for i := 0; i < 11; i++ {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/slow":
			time.Sleep(2 * time.Second)
		case "/redirect-inside":
			http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	open := newFetcher(500*time.Millisecond, true)
	if b, err := open.get(ctx, srv.URL+"/spec.yaml"); err != nil || string(b) != "openapi: 3.0.3\n" {
		t.Fatalf("fetch: %q %v", b, err)
	}
	for path, code := range map[string]string{"/huge": "spec_too_large", "/slow": "fetch_timeout", "/missing": "fetch_failed"} {
		_, err := open.get(ctx, srv.URL+path)
		if e, ok := apperr.As(err); !ok || e.Code != code {
			t.Errorf("%s: %v, want %s", path, err, code)
		}
	}
	guarded := newFetcher(time.Second, false)
	for _, u := range []string{srv.URL + "/spec.yaml", "http://localhost:1/", "http://[::1]:1/", "http://169.254.169.254/"} {
		_, err := guarded.get(ctx, u)
		if e, ok := apperr.As(err); !ok || e.Code != "address_not_allowed" {
			t.Errorf("%s: %v, want address_not_allowed", u, err)
		}
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x", "http://user:pw@example.com/"} {
		if _, err := guarded.get(ctx, u); apperr.KindOf(err) != apperr.KindInvalid {
			t.Errorf("%s: %v", u, err)
		}
	}
}
