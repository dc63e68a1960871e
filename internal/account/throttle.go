package account

import (
	"sync"
	"time"

	"portico/internal/platform/apperr"
)

// Log-in throttling: after maxFailures wrong passwords for one e-mail address
// within failureWindow, further attempts for it are refused until the window
// passes, whatever the password. It is per process (each node counts alone),
// which bounds guessing to maxFailures × nodes per window.
const (
	maxFailures   = 10
	failureWindow = 15 * time.Minute
	// maxTracked bounds the memory an attacker spraying e-mail addresses can use.
	maxTracked = 100_000
)

// ErrTooManyAttempts is returned while an address is locked out.
var ErrTooManyAttempts = apperr.New(apperr.KindRateLimited, "too_many_attempts",
	"Too many wrong passwords for this account; wait 15 minutes and try again.")

type failures struct {
	count int
	first time.Time
}

// throttle counts recent failed log-ins by e-mail address.
type throttle struct {
	mu  sync.Mutex
	by  map[string]failures
	now func() time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{by: map[string]failures{}, now: now}
}

// blocked reports whether key has used up its attempts.
func (t *throttle) blocked(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, ok := t.by[key]
	if !ok {
		return false
	}
	if t.now().Sub(f.first) > failureWindow {
		delete(t.by, key)
		return false
	}
	return f.count >= maxFailures
}

// fail records a failed attempt for key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.by) >= maxTracked {
		for k, f := range t.by { // drop expired entries; if none, forget the oldest map order gives
			if now.Sub(f.first) > failureWindow {
				delete(t.by, k)
			}
		}
		if len(t.by) >= maxTracked {
			for k := range t.by {
				delete(t.by, k)
				break
			}
		}
	}
	f := t.by[key]
	if f.count == 0 || now.Sub(f.first) > failureWindow {
		f = failures{first: now}
	}
	f.count++
	t.by[key] = f
}

// succeed forgets key's failures.
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.by, key)
	t.mu.Unlock()
}
