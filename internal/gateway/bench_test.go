package gateway

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"portico/internal/gateway/snapshot"
	"portico/internal/platform/secrets"
)

func benchBackend(b *testing.B) *httptest.Server {
	body := []byte(`{"message":"hello from the backend"}`)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	b.Cleanup(s.Close)
	return s
}

type discardMeter struct{ ch chan Event }

func (m discardMeter) Record(e Event) {
	select {
	case m.ch <- e:
	default:
	}
}

// BenchmarkBareProxy is the yardstick: a tuned httputil.ReverseProxy with pooled
// buffers, in the same harness as BenchmarkGatewayAPIKey.
func BenchmarkBareProxy(b *testing.B) {
	be := benchBackend(b)
	u, _ := url.Parse(be.URL)
	p := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport:  &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true},
		BufferPool: &bufferPool{},
		ErrorLog:   log.New(io.Discard, "", 0),
	}
	run(b, p, "/hello", "")
}

// BenchmarkGatewayAPIKey runs the whole pipeline: route, API key, subscription,
// rate limit, proxy and a metering event.
func BenchmarkGatewayAPIKey(b *testing.B) {
	be := benchBackend(b)
	m := discardMeter{ch: make(chan Event, 1024)}
	go func() {
		for range m.ch {
		}
	}()
	g := New(Options{Log: slog.New(slog.DiscardHandler), Meter: m})
	err := g.Load(snapshot.Config{
		APIs: []snapshot.API{{ID: "api", OrgID: "org", Context: "bench", Version: "v1", Default: true, State: snapshot.StatePublished,
			Auth: []string{snapshot.AuthAPIKey}, Backends: []string{be.URL}, Operations: []snapshot.Operation{{Method: "GET", Path: "/hello"}}}},
		Applications:  []snapshot.Application{{ID: "app", OrgID: "org"}},
		Keys:          []snapshot.APIKey{{Hash: secrets.Hash("k"), ApplicationID: "app"}},
		Subscriptions: []snapshot.Subscription{{ID: "sub", ApplicationID: "app", APIID: "api", Tier: "Gold", Status: snapshot.SubActive}},
		Tiers:         []snapshot.Tier{{OrgID: "org", Name: "Gold", Requests: 1 << 40, Per: "minute"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	run(b, g, "/bench/v1/hello", "k")
}

func run(b *testing.B, h http.Handler, path, key string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", path, nil)
			if key != "" {
				req.Header.Set("apikey", key)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkPipelineOnly measures the gateway's own work with a backend that is
// not there: every step up to the proxy, then a canned answer.
func BenchmarkPipelineOnly(b *testing.B) {
	g := New(Options{Log: slog.New(slog.DiscardHandler), Now: time.Now})
	err := g.Load(snapshot.Config{
		APIs: []snapshot.API{{ID: "api", OrgID: "org", Context: "bench", Version: "v1", Default: true, State: snapshot.StatePrototyped,
			Operations: []snapshot.Operation{{Method: "GET", Path: "/hello", Mock: &snapshot.MockResponse{Status: 200, Body: []byte("{}")}}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	run(b, g, "/bench/v1/hello", "")
}
