package gateway

import (
	"net/http"
	"time"
)

// recorder notes the status and size of an answer for metering. Pooled: the hot
// path allocates none per call.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	// backendFailed: the proxy could not complete the call at the backend
	// (metering.Event.BackendFailed).
	backendFailed bool
	// failed notes a write to the caller that failed (the caller left).
	failed bool
	// body guards the call's request body (nil: the call has none).
	body *bodyReader
	// writeIdle is how long one write to the caller may block (a caller that
	// stops reading) before the connection is dropped; conn sets it (nil when
	// the writer cannot, as in tests with a ResponseRecorder).
	writeIdle time.Duration
	conn      writeDeadliner
}

// writeDeadliner is the server's own ResponseWriter. Asked for directly, not
// through http.ResponseController, whose "not supported" error allocates.
type writeDeadliner interface{ SetWriteDeadline(time.Time) error }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	// Restarted before every write, so a long stream that keeps moving is
	// never cut; the last one also bounds the server's final flush, after
	// which the server clears it for the connection's next request.
	if r.conn != nil {
		_ = r.conn.SetWriteDeadline(time.Now().Add(r.writeIdle))
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	if err != nil {
		r.failed = true
	}
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack (streaming and
// WebSocket upgrades through the proxy).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
