package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portico/internal/gateway/snapshot"
)

func namedBackend(t *testing.T, name string, hits *atomic.Int64) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, name+" "+r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

func openAPI(backends []string, balance string) snapshot.Config {
	return snapshot.Config{APIs: []snapshot.API{{ID: "a", OrgID: "o", Context: "svc", Version: "v1", Default: true,
		State: snapshot.StatePublished, Backends: backends, Balance: balance}}}
}

func get(g *Gateway, path string) (int, string) {
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestFailoverToTheNextBackendAndEjection(t *testing.T) {
	var hits atomic.Int64
	live := namedBackend(t, "live", &hits)
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err := g.Load(openAPI([]string{"http://127.0.0.1:1/base", live.URL + "/other"}, "")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		code, body := get(g, "/svc/v1/items/3")
		if code != 200 || body != "live /other/items/3" {
			t.Fatalf("call %d: %d %q", i, code, body)
		}
	}
	// After three failures the dead backend is ejected: calls go straight to the
	// live one, so each call reaches the backend exactly once.
	before := hits.Load()
	get(g, "/svc/v1/x")
	if hits.Load() != before+1 {
		t.Fatal("call did not reach the live backend once")
	}
	p := g.Snapshot()
	r, _, _ := p.Route("/svc/v1/x")
	pool := r.Handler.(interface{ unwrapPool() *pool })
	if pool.unwrapPool().health[0].ok(time.Now()) {
		t.Fatal("the dead backend was not ejected")
	}
}

func TestRoundRobinSpreadsCalls(t *testing.T) {
	var a, b atomic.Int64
	ba, bb := namedBackend(t, "a", &a), namedBackend(t, "b", &b)
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err := g.Load(openAPI([]string{ba.URL, bb.URL}, snapshot.BalanceRoundRobin)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if code, body := get(g, "/svc/x"); code != 200 || !strings.HasSuffix(body, " /x") {
			t.Fatalf("%d %q", code, body)
		}
	}
	if a.Load() != 5 || b.Load() != 5 {
		t.Fatalf("calls split %d/%d", a.Load(), b.Load())
	}
}

func TestAllBackendsDownIsA502(t *testing.T) {
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err := g.Load(openAPI([]string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, "")); err != nil {
		t.Fatal(err)
	}
	if code, body := get(g, "/svc/x"); code != 502 || !strings.Contains(body, "backend_unavailable") {
		t.Fatalf("%d %s", code, body)
	}
}
