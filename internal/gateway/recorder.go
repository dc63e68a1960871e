package gateway

import "net/http"

// recorder notes the status and size of an answer for metering. Pooled: the hot
// path allocates none per call.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

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
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack (streaming and
// WebSocket upgrades through the proxy).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
