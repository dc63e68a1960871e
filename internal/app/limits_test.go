package app

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"
)

// limitedServer is a real server with the request limits in front of a handler
// that reads the whole body.
func limitedServer(t *testing.T, l serverLimits) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusRequestTimeout)
			return
		}
		fmt.Fprintf(w, "read %d", len(b))
	})
	srv := httptest.NewUnstartedServer(limitRequests(h, l))
	srv.Config.ReadHeaderTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// exchange writes head, then body a byte every gap, and reads the answer; it
// reports a dropped connection as status 0.
func exchange(t *testing.T, addr, head, body string, gap time.Duration) (int, string, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	go func() {
		if strings.HasPrefix(head, "GET /trickle") { // slowloris on the headers
			for i := 0; i < len(head); i++ {
				if _, err := c.Write([]byte{head[i]}); err != nil {
					return
				}
				time.Sleep(gap)
			}
		} else if _, err := io.WriteString(c, head); err != nil {
			return
		}
		for i := 0; i < len(body); i++ {
			time.Sleep(gap)
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error(), time.Since(start)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), time.Since(start)
}

func TestServerRequestLimits(t *testing.T) {
	l := serverLimits{maxFields: 100, maxFieldBytes: 32 << 10, bodyRead: 400 * time.Millisecond}
	addr := limitedServer(t, l)
	many := ""
	for i := 0; i < 101; i++ {
		many += fmt.Sprintf("X-H%d: v\r\n", i)
	}
	cases := []struct {
		name   string
		head   string
		body   string
		gap    time.Duration
		status int
		want   string // in the body
	}{
		{"a plain request passes", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n", "abc", 0, 200, "read 3"},
		{"100 header fields pass", "GET /x HTTP/1.1\r\n" + strings.Join(strings.SplitAfter(many, "\r\n")[:99], "") + "Host: a\r\n\r\n", "", 0, 200, "read 0"},
		{"101 header fields are refused with 431", "GET /x HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", "", 0, 431, `"code":"too_many_headers"`},
		{"headers over 32 KiB together are refused with 431", "GET /x HTTP/1.1\r\nHost: a\r\nX-A: " + strings.Repeat("a", 20<<10) + "\r\nX-B: " + strings.Repeat("b", 20<<10) + "\r\n\r\n", "", 0, 431, `"code":"headers_too_large"`},
		{"a body trickling past the read deadline is cut off", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", "0123456789", 100 * time.Millisecond, 408, "timeout"},
		// Go's server answers a plain 400 and hangs up when ReadHeaderTimeout passes.
		{"headers trickling past ReadHeaderTimeout are dropped", "GET /trickle HTTP/1.1\r\nHost: a\r\n\r\n", "", 50 * time.Millisecond, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, took := exchange(t, addr, tc.head, tc.body, tc.gap)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %q, want %d with %q", status, body, tc.status, tc.want)
			}
			if took > 3*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

// TestServerKeepsLongStreamsAlive: the body deadline is only set on requests
// that carry a body, so a long answer to a body-less request (a stream) is not
// cut off by it.
func TestServerKeepsLongStreamsAlive(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 5; i++ {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(150 * time.Millisecond):
			}
			fmt.Fprintf(w, "tick %d\n", i)
			http.NewResponseController(w).Flush()
		}
	})
	srv := httptest.NewServer(limitRequests(h, serverLimits{maxFields: 100, maxFieldBytes: 32 << 10, bodyRead: 200 * time.Millisecond}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(b), "tick 4") {
		t.Fatalf("stream cut short: %q %v", b, err)
	}
}

// TestKeptAliveConnectionForgetsTheLastWriteDeadline: the gateway sets a write
// deadline on the connection for each answer and relies on the server to
// clear it once the answer is out; the next request on the same connection,
// long after that deadline, must still be answered.
func TestKeptAliveConnectionForgetsTheLastWriteDeadline(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gateway" {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		}
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(limitRequests(h, defaultServerLimits()))
	defer srv.Close()
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	reused := 0
	for i, path := range []string{"/gateway", "/ui"} {
		if i > 0 {
			time.Sleep(300 * time.Millisecond) // past the deadline the first answer left
		}
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		trace := &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
			if ci.Reused {
				reused++
			}
		}}
		resp, err := c.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(b) != "ok" {
			t.Fatalf("%s: %q %v", path, b, err)
		}
	}
	if reused != 1 {
		t.Fatalf("the second request did not reuse the connection (%d)", reused)
	}
}
