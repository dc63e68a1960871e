package analytics

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/account"
	"portico/internal/platform/metering"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

// The benchmarks here are PostgreSQL's (production's) and skip without
// TEST_DATABASE_URL; `make bench` starts the server. Each uses its own fresh
// database, dropped afterwards.

func benchStore(b *testing.B) *store.Store {
	b.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		b.Skip("TEST_DATABASE_URL not set: `make bench` starts PostgreSQL")
	}
	return storetest.Open(b, store.Postgres)
}

func benchOrg(b *testing.B, st *store.Store) (*Service, account.Principal) {
	b.Helper()
	accounts := account.NewService(st, storetest.Logger(b))
	org, err := accounts.EnsureDefaultOrg(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	svc := NewService(st, accounts, storetest.Logger(b), Options{})
	return svc, account.Principal{OrgID: org.ID, UserID: "bench", Role: account.RoleAdmin}
}

// benchEvent is a call of one of 5 APIs × 4 applications × 5 statuses at at.
func benchEvent(org string, i int, at time.Time) metering.Event {
	return metering.Event{Time: at, OrgID: org, APIID: fmt.Sprintf("api-%d", i%5), Operation: "GET /items/{id}",
		ApplicationID: fmt.Sprintf("app-%d", (i/5)%4), SubscriptionID: fmt.Sprintf("sub-%d", i%20),
		Status: []int{200, 200, 200, 404, 503}[(i/20)%5], Latency: time.Duration(200+i%5000) * time.Microsecond,
		BytesIn: 120, BytesOut: 2048}
}

// BenchmarkSinkPostgres is the sustained rate of events through Sink.Record
// into PostgreSQL (COPY of raw events plus rollup upserts, default options:
// 2 workers, batches of 1000, 100 000-event buffer), for live traffic: 100
// keys (API, application, status) in the current minute. The producer cycles
// through prepared events and waits while the buffer is nearly full, so
// nothing is dropped and the rate is the writers'. Reported as events/s.
func BenchmarkSinkPostgres(b *testing.B) {
	st := benchStore(b)
	_, p := benchOrg(b, st)
	s, err := NewSink(st, prometheus.NewRegistry(), storetest.Logger(b), SinkOptions{})
	if err != nil {
		b.Fatal(err)
	}
	s.Start()
	defer s.Close(context.Background())
	high := s.opts.Buffer * 9 / 10
	now := time.Now().UTC()
	ring := make([]metering.Event, 10_000)
	for i := range ring {
		ring[i] = benchEvent(p.OrgID, i, now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for s.Buffered() >= high {
			time.Sleep(100 * time.Microsecond)
		}
		s.Record(ring[i%len(ring)])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	var n int64
	if err := st.DB(ctx).Raw("SELECT COALESCE(SUM(count), 0) FROM analytics_rollups").Scan(&n).Error; err != nil || n != int64(b.N) {
		b.Fatalf("rollups count %d events, want %d (%v)", n, b.N, err)
	}
}

// BenchmarkWriteBatchPostgres compares the two ways of writing one batch of
// 1000 events with its rollups on PostgreSQL: COPY (what the sink uses) and
// the multi-row INSERT it used before (SQLite's way). Reported as events/s of
// one writer.
func BenchmarkWriteBatchPostgres(b *testing.B) {
	st := benchStore(b)
	_, p := benchOrg(b, st)
	r := repo{st}
	const batch = 1000
	now := time.Now().UTC().Truncate(time.Minute)
	if err := r.ensurePartition(context.Background(), now); err != nil {
		b.Fatal(err)
	}
	for _, m := range []struct {
		name  string
		write func(context.Context, []eventRow, []rollup) error
	}{{"copy", r.copyBatch}, {"insert", r.insertBatch}} {
		b.Run(m.name, func(b *testing.B) {
			rows := make([]eventRow, batch)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				at := now.Add(-time.Duration(i%60) * time.Minute)
				for j := range rows {
					rows[j] = rowOf(benchEvent(p.OrgID, i*batch+j, at))
				}
				if err := m.write(context.Background(), rows, fold(rows)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// Dashboard data: benchMinutes × benchKeys rollup rows of benchPerRollup
// events each (10 million events, 1 million rollups, 34.7 days), and the same
// events raw.
const (
	benchMinutes   = 50_000
	benchKeys      = 20 // 5 APIs × 4 applications
	benchPerRollup = 10
)

// loadDashboardData fills the raw events and the rollups with generate_series,
// consistently: minute m and key k hold benchPerRollup events of one status
// and one latency bucket. It returns the first minute.
func loadDashboardData(b *testing.B, st *store.Store, org string) time.Time {
	b.Helper()
	ctx := context.Background()
	end := time.Now().UTC().Truncate(time.Minute)
	first := end.Add(-benchMinutes * time.Minute)
	r := repo{st}
	for d := first.Truncate(24 * time.Hour); !d.After(end); d = d.AddDate(0, 0, 1) {
		if err := r.ensurePartition(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	// Per (m, k): api = k % 5, application = k / 5, status 503 every 50th
	// minute of api-0 and 404 every 7th of app-3, latency bucket (m + k) % 14 + 4
	// (about 1 ms to 32 ms).
	keys := `m, k, ?::bigint + m * 60 AS minute, 'api-' || (k % 5) AS api, 'app-' || (k / 5) AS app,
		CASE WHEN k % 5 = 0 AND m % 50 = 0 THEN 503 WHEN k / 5 = 3 AND m % 7 = 0 THEN 404 ELSE 200 END AS status,
		(m + k) % 14 + 4 AS bucket`
	series := fmt.Sprintf("generate_series(0, %d) AS m, generate_series(0, %d) AS k", benchMinutes-1, benchKeys-1)
	t0 := time.Now()
	var h []string
	for i := 0; i < Buckets; i++ {
		h = append(h, fmt.Sprintf("CASE WHEN bucket = %d THEN %d ELSE 0 END", i, benchPerRollup))
	}
	lat := "round(250 * power(2, bucket / 2.0))::bigint"
	rollups := fmt.Sprintf(`INSERT INTO analytics_rollups (%s)
		SELECT ?, api, 'GET /items/{id}', app, status, status / 100, minute,
			%d, CASE WHEN status >= 400 THEN %d ELSE 0 END, %d * %s, %s, %d, %d, 0, %s
		FROM (SELECT %s FROM %s) x`,
		strings.Join(rollupColumns, ", "), benchPerRollup, benchPerRollup, benchPerRollup, lat, lat,
		benchPerRollup*120, benchPerRollup*2048, strings.Join(h, ", "), keys, series)
	if err := st.DB(ctx).Exec(rollups, org, first.Unix()).Error; err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	// Ten million rows load faster into bare partitions; the indexes are built
	// afterwards, as a bulk load would.
	if err := st.DB(ctx).Exec("DROP INDEX analytics_events_org_at, analytics_events_at").Error; err != nil {
		b.Fatal(err)
	}
	events := fmt.Sprintf(`INSERT INTO analytics_events (org_id, api_id, operation, application_id, subscription_id, status, latency_us, bytes_in, bytes_out, at)
		SELECT ?, api, 'GET /items/{id}', app, 'sub-' || k, status, %s, 120, 2048, to_timestamp(minute + e * 5) AT TIME ZONE 'UTC'
		FROM (SELECT %s FROM %s) x, generate_series(0, %d) AS e`, lat, keys, series, benchPerRollup-1)
	if err := st.DB(ctx).Exec(events, org, first.Unix()).Error; err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"CREATE INDEX analytics_events_org_at ON analytics_events (org_id, at)",
		"CREATE INDEX analytics_events_at ON analytics_events (at)", "ANALYZE analytics_rollups"} {
		if err := st.DB(ctx).Exec(q).Error; err != nil {
			b.Fatal(err)
		}
	}
	t2 := time.Now()
	b.Logf("loaded %d rollups in %v and %d raw events (with their indexes) in %v", benchMinutes*benchKeys, t1.Sub(t0).Round(time.Millisecond),
		benchMinutes*benchKeys*benchPerRollup, t2.Sub(t1).Round(time.Millisecond))
	return first
}

// BenchmarkDashboardPostgres times the publisher dashboard's queries over 10
// million events (34.7 days of rollups): the summary, the time series by
// hour, top APIs and top applications, each over the whole range and over the
// last 24 hours (the dashboard's default). The data is loaded once.
func BenchmarkDashboardPostgres(b *testing.B) {
	st := benchStore(b)
	svc, p := benchOrg(b, st)
	first := loadDashboardData(b, st, p.OrgID)
	ctx := context.Background()
	var sum Summary
	var err error
	if sum, err = svc.Summary(ctx, p, Query{From: first, To: time.Now().UTC()}); err != nil || sum.Requests != benchMinutes*benchKeys*benchPerRollup {
		b.Fatalf("summary of the loaded data: %d requests (%v), want %d", sum.Requests, err, benchMinutes*benchKeys*benchPerRollup)
	}
	now := time.Now().UTC()
	for _, span := range []struct {
		name string
		from time.Time
	}{{"all_10M", first}, {"last_24h", now.Add(-24 * time.Hour)}} {
		q := Query{From: span.from, To: now, Interval: "hour", Limit: DefaultTop}
		for _, c := range []struct {
			name string
			run  func() error
		}{
			{"summary", func() error { _, err := svc.Summary(ctx, p, q); return err }},
			{"timeseries_hour", func() error { _, err := svc.Timeseries(ctx, p, q); return err }},
			{"top_apis", func() error { _, err := svc.Top(ctx, p, q, ByAPI); return err }},
			{"top_applications", func() error { _, err := svc.Top(ctx, p, q, ByApplication); return err }},
		} {
			b.Run(span.name+"/"+c.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if err := c.run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
			})
		}
	}
}
