package analytics

import (
	"sync"
	"testing"
	"time"

	"portico/internal/store"
	"portico/internal/store/storetest"
)

func TestSinkWritesEveryEventRecordedConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		s := f.sink(t, SinkOptions{BatchSize: 250, Interval: 50 * time.Millisecond, Workers: 3})
		s.Start()
		const goroutines, each = 8, 1500
		base := time.Now().UTC().Add(-10 * time.Minute)
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					app := f.app1
					if i%2 == 1 {
						app = f.app2
					}
					status := 200
					if i%10 == 0 {
						status = 503
					}
					// Spread over five minutes so several rollup rows are shared by workers.
					s.Record(f.event(app, status, time.Duration(1+i%50)*time.Millisecond, base.Add(time.Duration(i%5)*time.Minute)))
				}
			}()
		}
		wg.Wait()
		if err := s.Close(within(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		const total = goroutines * each
		if n := count(t, st, "SELECT COUNT(*) FROM analytics_events"); n != total {
			t.Fatalf("raw events: %d, want %d", n, total)
		}
		if n := count(t, st, "SELECT SUM(count) FROM analytics_rollups"); n != total {
			t.Fatalf("rollup count: %d, want %d", n, total)
		}
		if n := count(t, st, "SELECT SUM(errors) FROM analytics_rollups"); n != total/10 {
			t.Fatalf("rollup errors: %d, want %d", n, total/10)
		}
		if d := counter(t, f.registry, "portico_analytics_dropped_total"); d != 0 {
			t.Fatalf("dropped %v events", d)
		}
		sum, err := f.svc.Summary(within(t, 10*time.Second), f.admin, Query{From: base.Add(-time.Hour), To: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Requests != total || sum.Errors != total/10 {
			t.Fatalf("summary: %+v", sum)
		}
	})
}

func TestSinkDropsAndCountsWhenTheBufferIsFull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		s := f.sink(t, SinkOptions{Buffer: 10})
		// Not started: nothing drains the buffer.
		for i := 0; i < 15; i++ {
			s.Record(f.event(f.app1, 200, time.Millisecond, time.Now()))
		}
		if d := counter(t, f.registry, "portico_analytics_dropped_total"); d != 5 {
			t.Fatalf("dropped = %v, want 5", d)
		}
		if s.Buffered() != 10 {
			t.Fatalf("buffered = %d, want 10", s.Buffered())
		}
		s.Start()
		if err := s.Flush(within(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, st, "SELECT COUNT(*) FROM analytics_events"); n != 10 {
			t.Fatalf("written %d, want the 10 buffered", n)
		}
	})
}

func TestSinkRecordAfterCloseIsDroppedNotBlocked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		s := f.sink(t, SinkOptions{})
		s.Start()
		if err := s.Close(within(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		s.Record(f.event(f.app1, 200, time.Millisecond, time.Now()))
		if d := counter(t, f.registry, "portico_analytics_dropped_total"); d != 1 {
			t.Fatalf("dropped = %v, want 1", d)
		}
	})
}
