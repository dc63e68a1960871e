package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBodyIdleTimeout is how long a caller may leave its request body
// without sending another byte before the gateway gives up on the call (408).
// It bounds a slowloris upload without capping the length of a legitimate
// streaming one: every byte that arrives restarts it.
const DefaultBodyIdleTimeout = 30 * time.Second

// DefaultWriteIdleTimeout is how long one write of an answer may wait for a
// caller that has stopped reading (nginx's send_timeout). Streams that keep
// moving, however long, are never cut.
const DefaultWriteIdleTimeout = 60 * time.Second

// statusClientClosed is nginx's "client closed request", used in metering when
// the caller left before the answer.
const statusClientClosed = 499

// bodyReader guards a request body on its way to the backend: it refuses more
// than max bytes and restarts an idle read deadline on the caller's connection
// before each read. Only calls that carry a body get one (one small
// allocation); GET and the like never do.
//
// It is not pooled: the transport may still read or close it after the
// handler has returned (a backend that answers before reading the whole body).
type bodyReader struct {
	rc   io.ReadCloser
	conn readDeadliner // the server's own writer (nil: cannot set deadlines)
	left int64         // bytes still allowed
	max  int64
	idle time.Duration
	// done is set once the body has ended, failed or been closed; from then on
	// the deadline is never set again (the server's background read, which
	// notices a caller leaving, must never time out). Atomic: the transport
	// may close the body while another of its goroutines reads.
	done atomic.Bool
	// mu is held for the whole of each Read (the transport reads from its own
	// goroutine), so failure can wait for a read in flight to end.
	mu sync.Mutex
	// err is the first failure, also returned by every later Read.
	err *clientBodyError
}

// clientBodyError is a failure of the caller's body: never the backend's fault
// (it does not count against the backend's health).
type clientBodyError struct {
	status int // 413, 408 or statusClientClosed
	max    int64
	err    error
}

func (e *clientBodyError) Error() string { return "request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

var errBodyOverLimit = errors.New("larger than the API accepts")

// readDeadliner is the server's own ResponseWriter (see writeDeadliner).
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// guardBody replaces r.Body with a bodyReader (w is the server's writer).
func (g *Gateway) guardBody(w http.ResponseWriter, r *http.Request, max int64) *bodyReader {
	conn, _ := w.(readDeadliner)
	b := &bodyReader{rc: r.Body, conn: conn, left: max, max: max, idle: g.bodyIdle}
	r.Body = b
	return b
}

// Read implements io.Reader.
func (b *bodyReader) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte more than allowed, to tell "exactly max" from "more".
	if int64(len(p))-1 > b.left {
		p = p[:b.left+1]
	}
	if b.conn != nil && !b.done.Load() {
		_ = b.conn.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		return n, b.fail(&clientBodyError{status: http.StatusRequestEntityTooLarge, max: b.max, err: errBodyOverLimit})
	}
	b.left -= int64(n)
	if err == nil {
		return n, nil
	}
	if err == io.EOF {
		b.end()
		return n, err
	}
	status := statusClientClosed
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusRequestTimeout
	}
	return n, b.fail(&clientBodyError{status: status, max: b.max, err: err})
}

// Close implements io.Closer.
func (b *bodyReader) Close() error {
	b.end()
	return b.rc.Close()
}

// failure reports how the body failed (nil: it has not), after any read in
// flight has ended. Call it only once the caller's connection has failed (the
// call's context is cancelled) or from the goroutine that reads: otherwise a
// read in flight may be waiting for a slow client.
func (b *bodyReader) failure() *clientBodyError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

func (b *bodyReader) fail(e *clientBodyError) error {
	b.err = e
	b.end()
	return e
}

// end stops restarting the deadline. It is left as it is: at the body's end
// the server clears it itself when it starts its background read; after a
// failure or an early close it still bounds the server's discarding of what
// is left of the body.
func (b *bodyReader) end() { b.done.Store(true) }

// bodyFailure reports the caller's body failure behind err, if that is what
// it is.
func bodyFailure(err error) (*clientBodyError, bool) {
	var ce *clientBodyError
	ok := errors.As(err, &ce)
	return ce, ok
}

// answerBodyFailure answers a call whose body could not be read: 413 or 408 in
// the contract's format, or nothing (metered 499) when the caller has left.
func answerBodyFailure(w http.ResponseWriter, e *clientBodyError) {
	switch e.status {
	case http.StatusRequestEntityTooLarge:
		writeBodyTooLarge(w, e.max)
	case http.StatusRequestTimeout:
		errBodyTimeout.write(w)
	default:
		if rec, ok := w.(*recorder); ok && rec.status == 0 {
			rec.status = statusClientClosed
		}
	}
}

// writeBodyTooLarge refuses a body over the API's max_request_bytes.
func writeBodyTooLarge(w http.ResponseWriter, max int64) {
	writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
		"The request body is larger than this API accepts (at most "+strconv.FormatInt(max, 10)+" bytes).")
}
