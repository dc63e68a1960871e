package gateway

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"portico/internal/gateway/snapshot"
)

// Passive health: a backend that fails this many calls in a row is taken out of
// rotation for ejectFor, then tried again.
const (
	ejectAfter = 3
	ejectFor   = 10 * time.Second
)

// health is one backend's record. It lives in upstreams, keyed by URL, so a
// reload neither forgets an ejected backend nor resets a healthy one.
type health struct {
	failures     atomic.Int32
	ejectedUntil atomic.Int64 // unix nanos
}

func (h *health) ok(now time.Time) bool { return now.UnixNano() >= h.ejectedUntil.Load() }

func (h *health) success() {
	if h.failures.Load() != 0 {
		h.failures.Store(0)
	}
}

func (h *health) failure(now time.Time) {
	if h.failures.Add(1) >= ejectAfter {
		h.ejectedUntil.Store(now.Add(ejectFor).UnixNano())
		h.failures.Store(0)
	}
}

func (u *upstreams) health(target *url.URL) *health {
	key := target.String()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.h == nil {
		u.h = map[string]*health{}
	}
	h, ok := u.h[key]
	if !ok {
		h = &health{}
		u.h[key] = h
	}
	return h
}

// pool sends a route's calls to its backends: the first healthy one (failover)
// or the next healthy one in turn (round robin). A call that could not connect
// is retried once on another backend when it is safe to repeat.
type pool struct {
	targets    []*url.URL
	transports []*http.Transport
	health     []*health
	roundRobin bool
	next       atomic.Uint32
}

func (g *Gateway) newPool(r *snapshot.Route, tlsc *tls.Config, tlsID string) *pool {
	p := &pool{targets: r.Backends, roundRobin: r.API.Balance == snapshot.BalanceRoundRobin}
	for _, t := range r.Backends {
		p.transports = append(p.transports, g.up.transport(t, r.Timeout, tlsc, tlsID))
		p.health = append(p.health, g.up.health(t))
	}
	return p
}

// pick returns the backend index to try first.
func (p *pool) pick(now time.Time) int {
	n := len(p.targets)
	first := 0
	if p.roundRobin && n > 1 {
		first = int(p.next.Add(1) % uint32(n))
	}
	for i := 0; i < n; i++ {
		if j := (first + i) % n; p.health[j].ok(now) {
			return j
		}
	}
	return first // all ejected: try anyway rather than refuse
}

// RoundTrip implements http.RoundTripper. The request arrives addressed to the
// first backend (the proxy's Rewrite); it is re-addressed to the chosen one.
func (p *pool) RoundTrip(req *http.Request) (*http.Response, error) {
	now := time.Now()
	i := p.pick(now)
	resp, err := p.try(req, i, now)
	if err == nil || len(p.targets) == 1 || !retryable(req, err) {
		return resp, err
	}
	j := (i + 1) % len(p.targets)
	for k := 0; k < len(p.targets)-1 && !p.health[j].ok(now); k++ {
		j = (j + 1) % len(p.targets)
	}
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, gerr := req.GetBody()
		if gerr != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
	}
	return p.try(req, j, now)
}

func (p *pool) try(req *http.Request, i int, now time.Time) (*http.Response, error) {
	if i != 0 {
		req = readdress(req, p.targets[0], p.targets[i])
	}
	resp, err := p.transports[i].RoundTrip(req)
	switch {
	case err != nil:
		if _, theirs := bodyFailure(err); req.Context().Err() == nil && !theirs { // the client leaving, or its body failing, is not the backend's fault
			p.health[i].failure(now)
		}
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		p.health[i].failure(now)
	default:
		p.health[i].success()
	}
	return resp, err
}

// readdress points a request made for primary at other, keeping the path after
// the primary's base path.
func readdress(req *http.Request, primary, other *url.URL) *http.Request {
	out := req.Clone(req.Context())
	u := *req.URL
	u.Scheme, u.Host = other.Scheme, other.Host
	u.Path = other.Path + strings.TrimPrefix(req.URL.Path, primary.Path)
	u.RawPath = ""
	out.URL = &u
	out.Host = other.Host
	return out
}

// retryable: only when nothing reached the backend (the connection failed) and
// the method may be repeated, or there was no body to lose.
func retryable(req *http.Request, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}
