package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"portico/internal/gateway/snapshot"
)

// Headers the gateway owns on the way to the backend.
const (
	headerApplication = "X-Portico-Application"
	headerRequestID   = "X-Request-ID"
	headerAPIKey      = "Apikey" // canonical form of "apikey"
)

// maxBackendHeaderBytes bounds a backend's response header block.
const maxBackendHeaderBytes = 1 << 20

// upstreams keeps one transport per backend origin and response timeout. They
// outlive snapshots, so keep-alive pools survive every reload.
type upstreams struct {
	mu sync.Mutex
	m  map[string]*http.Transport
	h  map[string]*health
}

func newUpstreams() *upstreams { return &upstreams{m: map[string]*http.Transport{}} }

func (u *upstreams) transport(target *url.URL, timeout time.Duration, tlsc *tls.Config, tlsID string) *http.Transport {
	key := target.Scheme + "://" + target.Host + "|" + strconv.FormatInt(int64(timeout), 10) + "|" + tlsID
	u.mu.Lock()
	defer u.mu.Unlock()
	if t, ok := u.m[key]; ok {
		return t
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil, // never an environment proxy between the gateway and its backends
		DialContext:           d.DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A backend slower than the API's timeout to start answering is a 504;
		// a slow body once started streams on (downloads, server-sent events).
		ResponseHeaderTimeout: timeout,
		// A backend's header block beyond this is refused (502), so a broken
		// backend cannot make the gateway hold megabytes per call.
		MaxResponseHeaderBytes: maxBackendHeaderBytes,
		DisableCompression:     true, // pass the backend's encoding through untouched
		TLSClientConfig:        tlsc,
	}
	u.m[key] = t
	return t
}

// closeIdle drops idle connections (on shutdown).
func (u *upstreams) closeIdle() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, t := range u.m {
		t.CloseIdleConnections()
	}
}

// bufferPool lends the proxy 32 KiB copy buffers instead of allocating per call.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) == 32<<10 {
		buf = buf[:cap(buf)]
		b.p.Put(&buf)
	}
}

// newProxy builds a route's reverse proxy once, at snapshot build time.
func (g *Gateway) newProxy(r *snapshot.Route) (http.Handler, error) {
	target := r.Backends[0]
	api := r.API
	headerName := http.CanonicalHeaderKey(api.BackendHeader)
	headerValue := []string{api.BackendHeaderValue}
	tlsc, tlsID, err := backendTLS(api)
	if err != nil {
		return nil, err
	}
	var transport http.RoundTripper = g.up.transport(target, r.Timeout, tlsc, tlsID)
	if len(r.Backends) > 1 {
		transport = g.newPool(r, tlsc, tlsID)
	}
	return &routeProxy{pool: poolOf(transport), ReverseProxy: httputil.ReverseProxy{
		Transport:  transport,
		BufferPool: &g.bufs,
		// FlushInterval stays 0: the proxy already flushes at once for
		// server-sent events and answers of unknown length (streaming), and
		// buffering everything else saves a write per call.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"]
			pr.SetXForwarded()
			if headerName != "" {
				pr.Out.Header[headerName] = headerValue
			}
		},
		ModifyResponse: modifyResponse(r.Transformer),
		ErrorLog:       g.proxyLog,
		ErrorHandler:   func(w http.ResponseWriter, req *http.Request, err error) { g.proxyError(w, req, err, r) },
	}}, nil
}

func modifyResponse(t snapshot.Transformer) func(*http.Response) error {
	if t == nil {
		return isolateResponse
	}
	return func(resp *http.Response) error {
		if err := t.Response(resp); err != nil {
			return err
		}
		return isolateResponse(resp)
	}
}

// Proxied answers share the origin of Portico's own pages, so an answer a
// browser would render as a document (HTML, SVG, XML) is put in a sandbox: an
// opaque origin, where its scripts may run but cannot read Portico's pages or
// ride its cookies. Other answers only lose content sniffing. The header
// values are shared, read-only slices, so this costs no allocation.
var (
	sandboxCSP = []string{"sandbox allow-scripts allow-forms allow-popups allow-downloads"}
	nosniff    = []string{"nosniff"}
)

// isolateHeaders adds the isolation headers to h, an answer's headers.
func isolateHeaders(h http.Header) {
	if _, ok := h["X-Content-Type-Options"]; !ok {
		h["X-Content-Type-Options"] = nosniff
	}
	if activeContent(h.Get("Content-Type")) {
		// Appended, never replacing the backend's own policy: browsers
		// enforce every policy they are sent.
		if own := h["Content-Security-Policy"]; len(own) == 0 {
			h["Content-Security-Policy"] = sandboxCSP
		} else {
			h["Content-Security-Policy"] = append(own[:len(own):len(own)], sandboxCSP[0])
		}
	}
}

func isolateResponse(resp *http.Response) error {
	isolateHeaders(resp.Header)
	return nil
}

// activeContent reports whether a browser renders a media type as a
// document that can run script. An answer without a type is treated as one:
// with nosniff a browser will not guess, but older ones might.
func activeContent(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "":
		return true
	case mt == "text/html", mt == "application/xhtml+xml", mt == "image/svg+xml", mt == "text/xml",
		mt == "application/xml", mt == "text/xsl", mt == "application/xslt+xml", mt == "application/pdf":
		return true
	case strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

// routeProxy is a route's reverse proxy, keeping its backend pool reachable for
// tests and diagnostics.
type routeProxy struct {
	httputil.ReverseProxy
	pool *pool
}

func (p *routeProxy) unwrapPool() *pool { return p.pool }

func poolOf(rt http.RoundTripper) *pool {
	p, _ := rt.(*pool)
	return p
}

// backendTLS builds the client side of mutual TLS for an API, and an id that
// keeps transports with different certificates apart (a changed certificate
// gets a fresh transport; the old one's idle connections are dropped).
func backendTLS(api *snapshot.API) (*tls.Config, string, error) {
	if api.TLSCert == "" && api.TLSCA == "" {
		return nil, "", nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if api.TLSCert != "" {
		pair, err := tls.X509KeyPair([]byte(api.TLSCert), []byte(api.TLSKey))
		if err != nil {
			return nil, "", fmt.Errorf("backend client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if api.TLSCA != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(api.TLSCA)) {
			return nil, "", errors.New("backend CA: no PEM certificate")
		}
		c.RootCAs = pool
	}
	sum := sha256.Sum256([]byte(api.TLSCert + "\x00" + api.TLSCA))
	return c, hex.EncodeToString(sum[:8]), nil
}

// proxyError answers a failed upstream call: 504 when the backend was too slow,
// 502 when it could not be reached or broke the connection, nothing when the
// client itself went away. A call whose own body failed (too large, stalled,
// cut off) is the caller's fault and answered as such.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error, route *snapshot.Route) {
	rec, _ := w.(*recorder)
	ce, ok := bodyFailure(err)
	if !ok && rec != nil && rec.body != nil && r.Context().Err() != nil {
		// A failed read of the caller's connection cancels the call's context,
		// and the transport may report that before the body's own error:
		// ask the body what happened.
		ce = rec.body.failure()
		ok = ce != nil
	}
	if ok {
		answerBodyFailure(w, ce)
		return
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		if rec, ok := w.(*recorder); ok {
			rec.status = statusClientClosed // client closed the request (nginx's convention, for metering)
		}
		return
	}
	if rec, ok := w.(*recorder); ok {
		rec.backendFailed = true // for metering: backend-down alerts count these
	}
	rm, _ := route.Metrics.(*routeMetrics)
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		if rm != nil {
			rm.timeout.Inc()
		}
		errTimeout.write(w)
		return
	}
	if rm != nil {
		rm.unavailable.Inc()
	}
	g.log.DebugContext(r.Context(), "backend call failed", "err", err, "host", r.Host)
	errBadGateway.write(w)
}
