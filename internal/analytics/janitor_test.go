package analytics

import (
	"testing"
	"time"

	"portico/internal/store"
	"portico/internal/store/storetest"
)

func TestRetentionDeletesOldEventsAndKeepsRollupsLonger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		now := time.Now().UTC()
		f.svc.opts.RawRetention = 7 * 24 * time.Hour
		f.svc.opts.RollupRetention = 30 * 24 * time.Hour
		old := now.AddDate(0, 0, -10)
		ancient := now.AddDate(0, 0, -60)
		// On PostgreSQL one old day gets its own partition (dropped whole); the
		// others land in the default partition (deleted in batches).
		if err := f.svc.repo.ensurePartition(within(t, 5*time.Second), old); err != nil {
			t.Fatal(err)
		}
		s := f.sink(t, SinkOptions{})
		s.Start()
		for i := 0; i < 30; i++ {
			s.Record(f.event(f.app1, 200, time.Millisecond, old))
			s.Record(f.event(f.app1, 200, time.Millisecond, ancient))
			s.Record(f.event(f.app1, 200, time.Millisecond, now))
		}
		if err := s.Flush(within(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Retain(within(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, st, "SELECT COUNT(*) FROM analytics_events"); n != 30 {
			t.Fatalf("%d raw events left, want the 30 recent ones", n)
		}
		if n := count(t, st, "SELECT SUM(count) FROM analytics_rollups"); n != 60 {
			t.Fatalf("%d events in rollups, want 60 (recent and 10 days old)", n)
		}
		if st.Dialect() == store.Postgres {
			if n := count(t, st, "SELECT COUNT(*) FROM pg_class WHERE relname = ?", partitionName(old)); n != 0 {
				t.Fatal("the expired daily partition is still there")
			}
			if n := count(t, st, "SELECT COUNT(*) FROM pg_class WHERE relname = ?", partitionName(now)); n != 1 {
				t.Fatal("today's partition was not created")
			}
		}
	})
}
