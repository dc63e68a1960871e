package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portico/internal/store"
	"portico/internal/store/outbox"
	"portico/internal/store/storetest"
)

// testJob lives in a table the test makes, with one column of its own.
type testJob struct {
	outbox.Row
	Ref string
}

func (testJob) TableName() string { return "outbox_test_jobs" }

const schema = `CREATE TABLE outbox_test_jobs (
	id TEXT PRIMARY KEY, kind TEXT NOT NULL, ref TEXT NOT NULL, state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0, run_at TIMESTAMP NOT NULL, locked_until TIMESTAMP,
	last_error TEXT NOT NULL DEFAULT '', created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)`

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Now().UTC().Truncate(time.Second)} }
func read(t *testing.T, st *store.Store, id string) testJob {
	t.Helper()
	var j testJob
	if err := st.DB(context.Background()).Where("id = ?", id).Take(&j).Error; err != nil {
		t.Fatal(err)
	}
	return j
}

func setup(t *testing.T, st *store.Store, c *clock, ids ...string) {
	t.Helper()
	ctx := context.Background()
	if err := st.DB(ctx).Exec(schema).Error; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		j := testJob{Row: outbox.NewRow(id, "send", c.now()), Ref: "ref-" + id}
		if err := st.DB(ctx).Create(&j).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func worker(st *store.Store, c *clock, step func(context.Context, *testJob) error) *outbox.Worker[testJob, *testJob] {
	return &outbox.Worker[testJob, *testJob]{Store: st, Log: slog.New(slog.DiscardHandler), Name: "test", Lease: time.Minute,
		Now: c.now, RetryBase: time.Second, RetryMax: 5 * time.Second, Step: step,
		GiveUp: func(j *testJob, _ time.Time) bool { return j.Attempts >= 4 }}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	w := &outbox.Worker[testJob, *testJob]{RetryBase: time.Second, RetryMax: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, d := range want {
		if got := w.Backoff(i + 1); got != d {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, d)
		}
	}
}

// TestRetriedUntilDoneThenLeftAlone: a failing job waits its backoff, runs
// again when due, and once done is never run again.
func TestRetriedUntilDoneThenLeftAlone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		c := newClock()
		setup(t, st, c, "a")
		var runs atomic.Int32
		w := worker(st, c, func(_ context.Context, j *testJob) error {
			if j.Ref != "ref-a" {
				t.Errorf("step got %+v", j)
			}
			if runs.Add(1) == 1 {
				return errors.New("stripe: 503")
			}
			return nil
		})
		ctx := context.Background()
		w.RunDue(ctx)
		j := read(t, st, "a")
		if j.State != outbox.Pending || j.Attempts != 1 || j.LastError != "stripe: 503" || !j.RunAt.Equal(c.now().Add(time.Second)) || j.LockedUntil != nil {
			t.Fatalf("after a failure: %+v", j)
		}
		w.RunDue(ctx) // not due yet
		if runs.Load() != 1 {
			t.Fatalf("ran before its backoff: %d runs", runs.Load())
		}
		c.add(time.Second)
		w.RunDue(ctx)
		if j := read(t, st, "a"); j.State != outbox.Done || j.Attempts != 2 || j.LastError != "" {
			t.Fatalf("after the retry: %+v", j)
		}
		c.add(time.Hour)
		w.RunDue(ctx)
		if runs.Load() != 2 {
			t.Fatalf("a done job ran again: %d runs", runs.Load())
		}
	})
}

// TestFailingForGood: a permanent error, or a job its module gives up on,
// fails at once and calls OnFailed; a cancelled job stays cancelled.
func TestFailingForGood(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		c := newClock()
		setup(t, st, c, "perm", "flaky", "gone")
		var failed []string
		w := worker(st, c, func(ctx context.Context, j *testJob) error {
			switch j.ID {
			case "perm":
				return outbox.Permanent{Err: errors.New("no such customer")}
			case "gone": // cancelled by its module while it ran
				if err := st.DB(ctx).Exec(`UPDATE outbox_test_jobs SET state = ? WHERE id = ?`, outbox.Cancelled, j.ID).Error; err != nil {
					t.Error(err)
				}
				return nil
			}
			return errors.New("timeout")
		})
		w.OnFailed = func(_ context.Context, j *testJob) { failed = append(failed, j.ID) }
		ctx := context.Background()
		for range 4 {
			w.RunDue(ctx)
			c.add(10 * time.Second)
		}
		if j := read(t, st, "perm"); j.State != outbox.Failed || j.Attempts != 1 || j.LastError != "no such customer" {
			t.Errorf("permanent failure: %+v", j)
		}
		if j := read(t, st, "flaky"); j.State != outbox.Failed || j.Attempts != 4 || j.LastError != "timeout" {
			t.Errorf("given up after 4 attempts: %+v", j)
		}
		if j := read(t, st, "gone"); j.State != outbox.Cancelled {
			t.Errorf("a cancelled job was overwritten: %+v", j)
		}
		if len(failed) != 2 || failed[0] != "perm" || failed[1] != "flaky" {
			t.Errorf("OnFailed for %v, want [perm flaky]", failed)
		}
	})
}

// TestTwoNodesRunAJobOnce: workers on several nodes claim each job once.
func TestTwoNodesRunAJobOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		c := newClock()
		ids := []string{"j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8"}
		setup(t, st, c, ids...)
		var mu sync.Mutex
		runs := map[string]int{}
		step := func(_ context.Context, j *testJob) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			return nil
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() { defer wg.Done(); worker(st, c, step).RunDue(context.Background()) }()
		}
		wg.Wait()
		for _, id := range ids {
			if runs[id] != 1 {
				t.Errorf("job %s ran %d times, want once", id, runs[id])
			}
			if j := read(t, st, id); j.State != outbox.Done || j.Attempts != 1 {
				t.Errorf("job %s: %+v", id, j)
			}
		}
	})
}
