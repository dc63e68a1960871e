package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portico/internal/gateway/snapshot"
)

// These tests put the gateway behind a real http.Server and in front of real
// TCP backends that misbehave, and check what a caller sees and what metering
// records: exactly one event per call, whatever broke.

// eventLog is a Meter that keeps every event.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (m *eventLog) Record(e Event) {
	m.mu.Lock()
	m.events = append(m.events, e)
	m.mu.Unlock()
}

func (m *eventLog) snapshot() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.events...)
}

// settle waits until n events have arrived, then a moment more, and returns
// them all (so a second event for the same call would show).
func (m *eventLog) settle(t *testing.T, n int) []Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(m.snapshot()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	return m.snapshot()
}

// served is a gateway behind a real server, with its server log kept.
type served struct {
	g      *Gateway
	srv    *httptest.Server
	meter  *eventLog
	logMu  sync.Mutex
	logBuf bytes.Buffer
}

func (s *served) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logBuf.Write(p)
}

func (s *served) serverLog() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.logBuf.String()
}

// serve starts a gateway for one open API (context "svc") in front of backend.
func serve(t *testing.T, backend string, api func(*snapshot.API), opts ...func(*Options)) *served {
	t.Helper()
	s := &served{meter: &eventLog{}}
	o := Options{Log: slog.New(slog.DiscardHandler), Meter: s.meter}
	for _, f := range opts {
		f(&o)
	}
	s.g = New(o)
	a := snapshot.API{ID: "a", OrgID: "o", Context: "svc", Version: "v1", Default: true, State: snapshot.StatePublished, Backends: []string{backend}}
	if api != nil {
		api(&a)
	}
	if err := s.g.Load(snapshot.Config{APIs: []snapshot.API{a}}); err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewUnstartedServer(s.g)
	s.srv.Config.ErrorLog = log.New(s, "", 0)
	s.srv.Config.ReadHeaderTimeout = 5 * time.Second
	s.srv.Start()
	t.Cleanup(func() {
		s.srv.Close()
		s.g.Close()
	})
	return s
}

// rawBackend is a TCP listener whose every connection is handled by fn.
func rawBackend(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				fn(c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// readRequestHead consumes a request's line and headers.
func readRequestHead(c net.Conn) *bufio.Reader {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil || line == "\r\n" {
			return br
		}
	}
}

// errorCode is the contract's error code in body, or "" when the body is not
// the contract's error format.
func errorCode(body []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return ""
	}
	return e.Error.Code
}

var client = &http.Client{Timeout: 10 * time.Second}

func TestBackendFaultsAnswerInTheContractFormat(t *testing.T) {
	const timeout = 300 * time.Millisecond
	cases := []struct {
		name    string
		backend func(t *testing.T, closed chan<- time.Time) string
		status  int
		code    string
		// within bounds how long the caller waits for the answer.
		within time.Duration
	}{
		{
			name: "backend refusing connections is a 502",
			backend: func(t *testing.T, _ chan<- time.Time) string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := ln.Addr().String()
				ln.Close() // nothing listens there any more: connection refused
				return "http://" + addr
			},
			status: 502, code: "backend_unavailable", within: 2 * time.Second,
		},
		{
			name: "backend hanging past the timeout is a 504 on time and its connection is closed",
			backend: func(t *testing.T, closed chan<- time.Time) string {
				return rawBackend(t, func(c net.Conn) {
					br := readRequestHead(c)
					_, _ = io.Copy(io.Discard, br) // never answers; returns when the gateway hangs up
					closed <- time.Now()
				})
			},
			status: 504, code: "backend_timeout", within: timeout + 700*time.Millisecond,
		},
		{
			name: "backend answering bytes that are not HTTP is a 502",
			backend: func(t *testing.T, _ chan<- time.Time) string {
				return rawBackend(t, func(c net.Conn) {
					readRequestHead(c)
					_, _ = c.Write([]byte("\x00\x01garbage, not HTTP at all\r\n\r\n"))
					time.Sleep(time.Second)
				})
			},
			status: 502, code: "backend_unavailable", within: 2 * time.Second,
		},
		{
			name: "backend sending a 2 MiB header is a 502",
			backend: func(t *testing.T, _ chan<- time.Time) string {
				return rawBackend(t, func(c net.Conn) {
					readRequestHead(c)
					w := bufio.NewWriter(c)
					fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nX-Huge: %s\r\nContent-Length: 2\r\n\r\nok", strings.Repeat("a", 2<<20))
					_ = w.Flush()
				})
			},
			status: 502, code: "backend_unavailable", within: 3 * time.Second,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan time.Time, 1)
			s := serve(t, tc.backend(t, closed), func(a *snapshot.API) { a.TimeoutMS = int(timeout / time.Millisecond) })
			start := time.Now()
			resp, err := client.Get(s.srv.URL + "/svc/v1/items")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != tc.status || errorCode(body) != tc.code || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s %q, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.code)
			}
			if took > tc.within {
				t.Errorf("answered after %s, want within %s", took, tc.within)
			}
			if tc.status == 504 {
				if took < timeout {
					t.Errorf("gave up after %s, before the API's %s timeout", took, timeout)
				}
				select {
				case at := <-closed:
					if at.Sub(start) > tc.within {
						t.Errorf("backend connection closed %s after the call started", at.Sub(start))
					}
				case <-time.After(2 * time.Second):
					t.Error("the gateway kept the hanging backend's connection open")
				}
			}
			evs := s.meter.settle(t, 1)
			if len(evs) != 1 || evs[0].Status != tc.status || !evs[0].BackendFailed {
				t.Fatalf("metered %+v, want one event with status %d, backend failed", evs, tc.status)
			}
		})
	}
}

func TestBackendResettingMidBody(t *testing.T) {
	cases := []struct {
		name string
		head string
	}{
		{"declared length", "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n8000\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be := rawBackend(t, func(c net.Conn) {
				readRequestHead(c)
				_, _ = c.Write([]byte(tc.head))
				_, _ = c.Write(bytes.Repeat([]byte("x"), 32<<10))
				time.Sleep(50 * time.Millisecond)
				_ = c.(*net.TCPConn).SetLinger(0) // close with a reset, mid-body
			})
			s := serve(t, be, nil)
			resp, err := client.Get(s.srv.URL + "/svc/v1/file")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			var n int64
			go func() {
				var err error
				n, err = io.Copy(io.Discard, resp.Body)
				done <- err
			}()
			select {
			case err := <-done:
				if resp.StatusCode != 200 || err == nil || n >= 1000000 {
					t.Fatalf("status %d, read %d bytes, err %v: the caller must see a cut-off body", resp.StatusCode, n, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the caller hangs on a body the backend abandoned")
			}
			resp.Body.Close()
			evs := s.meter.settle(t, 1)
			if len(evs) != 1 || evs[0].Status != 502 || !evs[0].BackendFailed {
				t.Fatalf("metered %+v, want one event with status 502, backend failed", evs)
			}
			if strings.Contains(s.serverLog(), "panic") {
				t.Fatalf("server logged a panic:\n%s", s.serverLog())
			}
		})
	}
}

// goroutinesBack waits for the goroutine count to come back to at most base.
func goroutinesBack(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before: leaked\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClientDisconnectingMidRequest(t *testing.T) {
	const calls = 20
	var arrived, cancelled atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/warm" {
			return
		}
		arrived.Add(1)
		select {
		case <-r.Context().Done():
			cancelled.Add(1)
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(be.Close)
	s := serve(t, be.URL, nil)
	if resp, err := client.Get(s.srv.URL + "/svc/v1/warm"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("warm-up call: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	s.meter.settle(t, 1)
	base := runtime.NumGoroutine()

	for i := 0; i < calls; i++ {
		c, err := net.Dial("tcp", s.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /svc/v1/slow HTTP/1.1\r\nHost: gw\r\n\r\n")
		for deadline := time.Now().Add(5 * time.Second); arrived.Load() < int64(i+1); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("call %d never reached the backend", i)
			}
		}
		c.Close() // the caller gives up while the backend is still working
	}
	for deadline := time.Now().Add(5 * time.Second); cancelled.Load() < calls; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d backend requests were cancelled", cancelled.Load(), calls)
		}
	}
	goroutinesBack(t, base)
	evs := s.meter.settle(t, calls+1)[1:]
	if len(evs) != calls {
		t.Fatalf("%d events for %d calls", len(evs), calls)
	}
	for _, e := range evs {
		if e.Status != statusClientClosed || e.BackendFailed {
			t.Fatalf("metered %+v, want 499, not the backend's fault", e)
		}
	}
}

func TestSlowReaderDoesNotHoldUpOthers(t *testing.T) {
	const writeIdle = 300 * time.Millisecond
	big := bytes.Repeat([]byte("y"), 32<<20)
	steady := bytes.Repeat([]byte("z"), 2<<20)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write(big)
		case "/steady":
			_, _ = w.Write(steady)
		default:
			_, _ = io.WriteString(w, "small")
		}
	}))
	t.Cleanup(be.Close)
	s := serve(t, be.URL, nil, func(o *Options) { o.WriteIdleTimeout = writeIdle })

	slow, err := net.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET /svc/v1/big HTTP/1.1\r\nHost: gw\r\n\r\n")
	br := bufio.NewReaderSize(slow, 4096)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("slow reader's status line %q %v", line, err)
	}
	// It reads nothing more: the gateway's writes to it block on a full socket.

	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(s.srv.URL + "/svc/v1/small")
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "small" {
				errs <- fmt.Sprintf("%d %q", resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("another caller was affected:", e)
	}

	// A caller reading slowly but steadily gets everything, however long it
	// takes in all.
	resp, err := client.Get(s.srv.URL + "/svc/v1/steady")
	if err != nil {
		t.Fatal(err)
	}
	var got int
	buf := make([]byte, 256<<10)
	for start := time.Now(); ; {
		n, err := io.ReadFull(resp.Body, buf)
		got += n
		if err != nil {
			break
		}
		time.Sleep(writeIdle / 3)
		if time.Since(start) > 10*time.Second {
			break
		}
	}
	resp.Body.Close()
	if got != len(steady) {
		t.Fatalf("the steady reader got %d of %d bytes", got, len(steady))
	}

	// The caller that stopped reading has been dropped: the rest of its answer
	// never comes, and it is metered as the caller's doing.
	time.Sleep(3 * writeIdle)
	_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, br)
	if n >= int64(len(big)) || os.IsTimeout(err) {
		t.Fatalf("the reader that stalled still got %d of %d bytes (%v)", n, len(big), err)
	}
	var bigEvent *Event
	evs := s.meter.settle(t, 22)
	for i := range evs {
		if evs[i].BytesOut > 1<<20 && evs[i].BytesOut < int64(len(big)) {
			bigEvent = &evs[i]
		}
	}
	if len(evs) != 22 || bigEvent == nil || bigEvent.Status != statusClientClosed || bigEvent.BackendFailed {
		t.Fatalf("%d events; the dropped call metered as %+v, want 499, not the backend's fault", len(evs), bigEvent)
	}
}

// trickle sends head, then body one byte every gap, and returns the answer.
func trickle(t *testing.T, addr, head string, body []byte, gap time.Duration) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	go func() {
		for _, b := range body {
			time.Sleep(gap)
			if _, err := c.Write([]byte{b}); err != nil {
				return // the gateway hung up: expected for a slowloris
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

func TestSlowlorisBodyIsDroppedButSlowStreamingUploadsPass(t *testing.T) {
	const idle = 250 * time.Millisecond
	var mu sync.Mutex
	var got []string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		_, _ = io.WriteString(w, "stored")
	}))
	t.Cleanup(be.Close)
	body := []byte("0123456789")
	cases := []struct {
		name   string
		head   string
		gap    time.Duration
		status int
		code   string
		stored string
	}{
		{"a body pausing longer than the idle timeout is refused with 408", "POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\n", 3 * idle, 408, "request_timeout", ""},
		{"a chunked body pausing too long is refused with 408", "POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n", 3 * idle, 408, "request_timeout", ""},
		// 10 bytes, 100 ms apart: the upload takes four times the idle timeout.
		{"a slow but steady upload longer than the idle timeout goes through", "POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\n", idle * 2 / 5, 200, "", "0123456789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := serve(t, be.URL, nil, func(o *Options) { o.BodyIdleTimeout = idle })
			payload := body
			if strings.Contains(tc.head, "chunked") {
				payload = []byte("a\r\n0123456789\r\n0\r\n\r\n")
			}
			mu.Lock()
			got = nil
			mu.Unlock()
			start := time.Now()
			resp, b := trickle(t, s.srv.Listener.Addr().String(), tc.head, payload, tc.gap)
			if resp.StatusCode != tc.status || (tc.code != "" && errorCode(b) != tc.code) {
				t.Fatalf("got %d %q, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
			if tc.status == 408 && time.Since(start) > 3*time.Second {
				t.Errorf("dropped after %s", time.Since(start))
			}
			mu.Lock()
			stored := strings.Join(got, "|")
			mu.Unlock()
			if stored != tc.stored {
				t.Errorf("backend stored %q, want %q", stored, tc.stored)
			}
			evs := s.meter.settle(t, 1)
			if len(evs) != 1 || evs[0].Status != tc.status || evs[0].BackendFailed {
				t.Fatalf("metered %+v, want one event with status %d, not the backend's fault", evs, tc.status)
			}
		})
	}
}

func TestRequestBodyLimit(t *testing.T) {
	var hits, lastLen atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		lastLen.Store(n)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	const limit = 1000
	const (
		never   = iota // the backend never sees the call
		whole          // the backend gets the whole body
		partial        // a streamed body may have started: never more than the limit
	)
	cases := []struct {
		name    string
		max     int64 // the API's MaxRequestBytes
		request string
		status  int
		backend int
	}{
		{"a declared length over the limit is refused before the backend sees it", limit,
			"POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nContent-Length: 1001\r\n\r\n" + strings.Repeat("b", 1001), 413, never},
		{"a body of exactly the limit goes through", limit,
			"POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("b", 1000), 200, whole},
		{"a chunked body over the limit is cut off with 413", limit,
			"POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("b", 2000) + "\r\n0\r\n\r\n", 413, partial},
		{"a chunked body within the limit goes through", limit,
			"POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + strings.Repeat("b", 1000) + "\r\n0\r\n\r\n", 200, whole},
		// Only the header is sent: the refusal must not wait for 10 MiB.
		{"an API without a limit takes the 10 MiB default", 0,
			fmt.Sprintf("POST /svc/v1/up HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\n\r\n", snapshot.DefaultMaxRequestBytes+1), 413, never},
		{"a call without a body is untouched by the limit", 1, "GET /svc/v1/up HTTP/1.1\r\nHost: gw\r\n\r\n", 200, whole},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := serve(t, be.URL, func(a *snapshot.API) { a.MaxRequestBytes = tc.max })
			hits.Store(0)
			lastLen.Store(-1)
			resp, b := send(t, s.srv.Listener.Addr().String(), tc.request)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, b, tc.status)
			}
			if tc.status == 413 {
				if errorCode(b) != "body_too_large" {
					t.Fatalf("413 not in the contract's format: %q", b)
				}
				if tc.max == limit && !strings.Contains(string(b), "1000 bytes") {
					t.Errorf("the refusal does not say the limit: %q", b)
				}
			}
			evs := s.meter.settle(t, 1)
			if len(evs) != 1 || evs[0].Status != tc.status || evs[0].BackendFailed {
				t.Fatalf("metered %+v, want one event with status %d", evs, tc.status)
			}
			switch tc.backend {
			case never:
				if hits.Load() != 0 {
					t.Errorf("the backend saw the call")
				}
			case whole:
				if want := int64(strings.Count(tc.request, "b")); hits.Load() != 1 || lastLen.Load() != want {
					t.Errorf("backend saw %d calls, read %d bytes; want 1 call, %d bytes", hits.Load(), lastLen.Load(), want)
				}
			case partial:
				if lastLen.Load() > limit {
					t.Errorf("backend read %d bytes, over the limit", lastLen.Load())
				}
			}
		})
	}
}

// send writes raw on a new connection and reads the answer.
func send(t *testing.T, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.WriteString(c, raw) }()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}
