package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"portico/internal/platform/period"
)

// Result is a limiter's decision and what the RateLimit-* headers report.
type Result struct {
	Allowed   bool
	Limit     int64
	Remaining int64
	// Reset is when the window ends.
	Reset time.Time
}

// Limiter admits a call under key when fewer than limit calls were admitted in
// the window [start, end). Implementations must be safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int64, start, end time.Time) (Result, error)
	// Undo gives back one call admitted under key in the window starting at
	// start, when a later check refused the call: refused calls consume nothing.
	Undo(ctx context.Context, key string, start time.Time) error
}

// Window returns the fixed window containing now for a period: "second",
// "minute", "hour", "day" (UTC) or "month" (calendar month, UTC).
func Window(per string, now time.Time) (start, end time.Time) { return period.Window(per, now) }

const shards = 64

// Local is the in-process Limiter: counters in sharded maps, one lock per shard
// held only to find a counter; the count itself moves with atomics.
type Local struct {
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*counter
}

// counter holds one key's window and count. The window start (unix nanos) and
// count change together under CAS on state.
type counter struct {
	state atomic.Pointer[window]
}

type window struct {
	start int64
	count atomic.Int64
	end   int64
}

// NewLocal returns an empty in-process limiter.
func NewLocal() *Local {
	l := &Local{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = map[string]*counter{}
	}
	return l
}

// Allow implements Limiter.
func (l *Local) Allow(_ context.Context, key string, limit int64, start, end time.Time) (Result, error) {
	c := l.counter(key)
	s, e := start.UnixNano(), end.UnixNano()
	for {
		w := c.state.Load()
		if w == nil || w.start != s {
			if w != nil && w.start > s {
				// A later window is already counting (clock skew between
				// goroutines): count against it.
				s, e = w.start, w.end
				continue
			}
			nw := &window{start: s, end: e}
			if !c.state.CompareAndSwap(w, nw) {
				continue
			}
			w = nw
		}
		for {
			n := w.count.Load()
			if n >= limit {
				return Result{Allowed: false, Limit: limit, Remaining: 0, Reset: time.Unix(0, w.end)}, nil
			}
			if w.count.CompareAndSwap(n, n+1) {
				return Result{Allowed: true, Limit: limit, Remaining: limit - n - 1, Reset: time.Unix(0, w.end)}, nil
			}
		}
	}
}

// Undo implements Limiter.
func (l *Local) Undo(_ context.Context, key string, start time.Time) error {
	c := l.counter(key)
	w := c.state.Load()
	if w == nil || w.start != start.UnixNano() {
		return nil // the window has moved on: nothing to give back
	}
	for {
		n := w.count.Load()
		if n <= 0 || w.count.CompareAndSwap(n, n-1) {
			return nil
		}
	}
}

func (l *Local) counter(key string) *counter {
	sh := &l.shards[maphash.String(l.seed, key)%shards]
	sh.mu.RLock()
	c := sh.m[key]
	sh.mu.RUnlock()
	if c != nil {
		return c
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c = sh.m[key]; c == nil {
		c = &counter{}
		sh.m[key] = c
	}
	return c
}

// Sweep forgets counters whose window ended before now, so keys of deleted
// subscriptions do not accumulate. Run it now and then, off the hot path.
func (l *Local) Sweep(now time.Time) int {
	n := now.UnixNano()
	removed := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			if w := c.state.Load(); w == nil || w.end <= n {
				delete(sh.m, k)
				removed++
			}
		}
		sh.mu.Unlock()
	}
	return removed
}
