package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestExactlyLimitCallsPassUnderConcurrency(t *testing.T) {
	l := NewLocal()
	start, end := Window("minute", time.Now())
	const limit = 250
	var passed atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 500; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				r, err := l.Allow(context.Background(), "sub-1", limit, start, end)
				if err != nil {
					t.Error(err)
				}
				if r.Allowed {
					passed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if passed.Load() != limit {
		t.Fatalf("%d calls passed, want exactly %d", passed.Load(), limit)
	}
}

func TestRefusedCallsConsumeNothingAndWindowsReset(t *testing.T) {
	l := NewLocal()
	now := time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC)
	s, e := Window("month", now)
	if !s.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("month window %v–%v", s, e)
	}
	for i := 0; i < 3; i++ {
		r, _ := l.Allow(context.Background(), "k", 3, s, e)
		if !r.Allowed || r.Remaining != int64(2-i) || !r.Reset.Equal(e) {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
	for i := 0; i < 5; i++ {
		if r, _ := l.Allow(context.Background(), "k", 3, s, e); r.Allowed || r.Remaining != 0 {
			t.Fatalf("over the limit: %+v", r)
		}
	}
	// A raised limit in the same window admits exactly the difference: refusals
	// did not count.
	if r, _ := l.Allow(context.Background(), "k", 4, s, e); !r.Allowed {
		t.Fatal("refused calls were counted")
	}
	s2, e2 := Window("month", now.Add(time.Second))
	if r, _ := l.Allow(context.Background(), "k", 3, s2, e2); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("new month: %+v", r)
	}
	if n := l.Sweep(e2.Add(time.Second)); n != 1 {
		t.Fatalf("sweep removed %d", n)
	}
}

func TestUndoGivesACallBack(t *testing.T) {
	l := NewLocal()
	s, e := Window("minute", time.Now())
	l.Allow(context.Background(), "k", 2, s, e)
	l.Allow(context.Background(), "k", 2, s, e)
	if r, _ := l.Allow(context.Background(), "k", 2, s, e); r.Allowed {
		t.Fatal("third call passed a limit of 2")
	}
	l.Undo(context.Background(), "k", s)
	if r, _ := l.Allow(context.Background(), "k", 2, s, e); !r.Allowed {
		t.Fatal("undo did not give the call back")
	}
	l.Undo(context.Background(), "k", s.Add(-time.Minute)) // an old window: nothing happens
	if r, _ := l.Allow(context.Background(), "k", 2, s, e); r.Allowed {
		t.Fatal("undo of an old window changed this one")
	}
}

func TestWindows(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 30, 45, 500, time.UTC)
	for per, want := range map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour} {
		s, e := Window(per, now)
		if e.Sub(s) != want || now.Before(s) || !now.Before(e) {
			t.Fatalf("%s: %v–%v", per, s, e)
		}
	}
}

func BenchmarkLocalAllow(b *testing.B) {
	l := NewLocal()
	s, e := Window("hour", time.Now())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(context.Background(), "sub-bench", 1<<62, s, e)
		}
	})
}
