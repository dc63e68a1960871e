package gateway

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"portico/internal/gateway/snapshot"
)

// TestStreamingAnswersArriveAsTheyAreWritten: server-sent events and answers of
// unknown length reach the client before the backend has finished.
func TestStreamingAnswersArriveAsTheyAreWritten(t *testing.T) {
	release := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			w.Header().Set("Content-Type", "text/event-stream")
		}
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "data: second\n\n")
	}))
	defer be.Close()
	defer close(release)
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "s", OrgID: "o", Context: "stream", Version: "v1", Default: true,
		State: snapshot.StatePublished, Backends: []string{be.URL}}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	for _, path := range []string{"/stream/events", "/stream/chunks"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(resp.Body).ReadString('\n')
			got <- line
		}()
		select {
		case line := <-got:
			if !strings.Contains(line, "first") {
				t.Fatalf("%s: first line %q", path, line)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: the first event did not arrive while the backend was still writing", path)
		}
		resp.Body.Close()
	}
}
