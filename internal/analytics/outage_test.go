package analytics

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/store"
	"portico/internal/store/storetest"
)

func TestEventsWithinTheBufferSurviveADatabaseOutage(t *testing.T) {
	// SQLite is a file in the process: it has no outage to survive.
	cfg := storetest.Database(t, store.Postgres)
	direct, err := store.Open(context.Background(), cfg, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if _, err := direct.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, direct)

	u, err := url.Parse(cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	proxy := storetest.NewCutProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg.DSN = u.String()
	viaProxy, err := store.Open(context.Background(), cfg, storetest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer viaProxy.Close()

	reg := prometheus.NewRegistry()
	s, err := NewSink(viaProxy, reg, storetest.Logger(t), SinkOptions{Buffer: 1000, BatchSize: 100, Interval: 50 * time.Millisecond, Workers: 2, RetryMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close(context.Background())

	now := time.Now().UTC()
	for i := 0; i < 300; i++ {
		s.Record(f.event(f.app1, 200, time.Millisecond, now))
	}
	if err := s.Flush(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	proxy.SetDown(true)
	// While the database is away: the buffer (1000) plus one batch in each
	// worker's hands (2 × 100) wait; the rest is dropped and counted.
	for i := 0; i < 1500; i++ {
		s.Record(f.event(f.app1, 200, time.Millisecond, now))
		if i%100 == 0 {
			time.Sleep(20 * time.Millisecond) // let the workers pick up and fail a batch
		}
	}
	time.Sleep(300 * time.Millisecond)
	dropped := counter(t, reg, "portico_analytics_dropped_total")
	if dropped < 300 || dropped > 500 {
		t.Fatalf("dropped %v during the outage, want 1500 - (1000 + up to 2×100)", dropped)
	}
	if n := count(t, direct, "SELECT COUNT(*) FROM analytics_events"); n != 300 {
		t.Fatalf("%d rows written while the database was away from the sink", n)
	}

	proxy.SetDown(false)
	if err := s.Flush(within(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := int64(300 + 1500 - int(dropped))
	if n := count(t, direct, "SELECT COUNT(*) FROM analytics_events"); n != want {
		t.Fatalf("after the outage: %d raw events, want %d (300 before, %d kept)", n, want, 1500-int(dropped))
	}
	if n := count(t, direct, "SELECT SUM(count) FROM analytics_rollups"); n != want {
		t.Fatalf("after the outage: rollups count %d, want %d", n, want)
	}
}
