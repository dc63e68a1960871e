package analytics

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"portico/internal/store"
	"portico/internal/store/storetest"
)

func TestBucketBoundsAreLogSpacedAndBucketOfAgrees(t *testing.T) {
	for i := 1; i < Buckets-1; i++ {
		if r := float64(bucketBound(i)) / float64(bucketBound(i-1)); r < 1.40 || r > 1.43 {
			t.Fatalf("bound %d / bound %d = %.3f, want √2", i, i-1, r)
		}
	}
	cases := []struct {
		name string
		us   int64
		want int
	}{
		{"zero is in the first bucket", 0, 0},
		{"a negative latency counts as zero", -5, 0},
		{"the first bound is inclusive", 250, 0},
		{"just above the first bound", 251, 1},
		{"one millisecond", 1000, 4},
		{"exactly a bound", bucketBound(10), 10},
		{"just above a bound", bucketBound(10) + 1, 11},
		{"a minute overflows into the last bucket", 60_000_000, Buckets - 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := bucketOf(c.us); got != c.want {
				t.Fatalf("bucketOf(%d) = %d, want %d", c.us, got, c.want)
			}
		})
	}
}

func TestQuantileOfAnEmptyOrSingleHistogram(t *testing.T) {
	var h Histogram
	if q := h.Quantile(0.95, 0); q != 0 {
		t.Fatalf("empty: %v", q)
	}
	h.Add(3 * time.Millisecond)
	if q := h.Quantile(0.99, 3000); q != 3000 {
		t.Fatalf("one latency of 3 ms, max 3 ms: p99 = %v µs", q)
	}
}

// exact returns the q-quantile of sorted values (nearest rank).
func exact(sorted []int64, q float64) int64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func TestPercentilesFromRollupsMatchRawLatenciesWithinOneBucket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		s := f.sink(t, SinkOptions{BatchSize: 500})
		s.Start()
		rng := rand.New(rand.NewPCG(1, 2))
		at := time.Now().UTC().Add(-30 * time.Minute)
		var lat []int64
		for i := 0; i < 5000; i++ {
			// Log-uniform from 0.5 ms to 2 s, plus a slow tail.
			us := int64(500 * math.Pow(4000, rng.Float64()))
			if i%100 == 0 {
				us = 5_000_000 + rng.Int64N(1_000_000)
			}
			lat = append(lat, us)
			s.Record(f.event(f.app1, 200, time.Duration(us)*time.Microsecond, at.Add(time.Duration(i%20)*time.Minute)))
		}
		if err := s.Flush(within(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		sum, err := f.svc.Summary(within(t, 10*time.Second), f.admin, Query{From: at.Add(-time.Minute), To: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Requests != 5000 {
			t.Fatalf("requests %d", sum.Requests)
		}
		for _, c := range []struct {
			name string
			q    float64
			got  float64
		}{{"p50", 0.50, sum.LatencyMS.P50}, {"p95", 0.95, sum.LatencyMS.P95}, {"p99", 0.99, sum.LatencyMS.P99}} {
			want := exact(lat, c.q)
			gotUS := int64(c.got * 1000)
			if d := bucketOf(gotUS) - bucketOf(want); d < -1 || d > 1 {
				t.Errorf("%s: %v ms from rollups, %v ms from raw latencies: %d buckets apart", c.name, c.got, float64(want)/1000, d)
			}
		}
		if sum.LatencyMS.Max != ms(float64(lat[len(lat)-1])) {
			t.Errorf("max %v, want %v", sum.LatencyMS.Max, float64(lat[len(lat)-1])/1000)
		}
	})
}
