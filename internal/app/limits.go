package app

import (
	"net/http"
	"time"
)

// Limits the HTTP server applies to every request, management, UI and gateway
// alike, before any handler runs. There is deliberately no WriteTimeout: it
// would cut off streamed answers (server-sent events, downloads) and WebSockets.
const (
	// readHeaderTimeout drops a client that trickles its request line and
	// headers (slowloris).
	readHeaderTimeout = 10 * time.Second
	// idleTimeout closes keep-alive connections nobody uses.
	idleTimeout = 120 * time.Second
	// maxHeaderBytes is the hard cap the server enforces while reading
	// headers (Go answers a plain-text 431 above it, before any handler).
	maxHeaderBytes = 64 << 10
	// maxHeaderFields and maxHeaderFieldBytes are checked here, with the
	// contract's JSON 431: how many header lines a request may carry, and how
	// many bytes their names and values may add up to.
	maxHeaderFields     = 100
	maxHeaderFieldBytes = 32 << 10
	// bodyReadTimeout bounds reading a request body from its first byte to its
	// last (slowloris on the body). The gateway restarts its own, shorter idle
	// deadline on every read, so streaming uploads through it are not capped.
	bodyReadTimeout = 60 * time.Second
)

// serverLimits are the request limits limitRequests applies.
type serverLimits struct {
	maxFields     int
	maxFieldBytes int
	bodyRead      time.Duration
}

func defaultServerLimits() serverLimits {
	return serverLimits{maxFields: maxHeaderFields, maxFieldBytes: maxHeaderFieldBytes, bodyRead: bodyReadTimeout}
}

// Refusals written before routing, in the contract's error format.
var (
	tooManyHeaderFields = []byte(`{"error":{"code":"too_many_headers","message":"The request carries more than 100 header fields; send fewer."}}` + "\n")
	headerFieldsTooLong = []byte(`{"error":{"code":"headers_too_large","message":"The request's headers are larger than 32 KiB together; send smaller ones."}}` + "\n")
)

// limitRequests refuses requests with too many or too large headers (431) and
// puts a read deadline on request bodies, then hands over to next. Requests
// without a body get no deadline: the server's background read, which notices
// a client leaving, must never time out.
func limitRequests(next http.Handler, l serverLimits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fields, size := 0, 0
		for name, values := range r.Header {
			fields += len(values)
			for _, v := range values {
				size += len(name) + len(v)
			}
		}
		switch {
		case fields > l.maxFields:
			refuseHeaders(w, tooManyHeaderFields)
			return
		case size > l.maxFieldBytes:
			refuseHeaders(w, headerFieldsTooLong)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(l.bodyRead))
		}
		next.ServeHTTP(w, r)
	})
}

func refuseHeaders(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
	_, _ = w.Write(body)
}
