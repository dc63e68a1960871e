package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublicAddress(t *testing.T) {
	for _, tt := range []struct {
		ip     string
		public bool
	}{
		{"8.8.8.8", true}, {"2606:4700::1111", true}, {"1.1.1.1", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fd00::1", false}, {"0.0.0.0", false}, {"::", false},
		{"100.64.0.1", false}, {"224.0.0.1", false}, {"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, {"192.0.2.10", false}, {"255.255.255.255", false},
	} {
		if got := PublicAddress(netip.MustParseAddr(tt.ip)); got != tt.public {
			t.Errorf("PublicAddress(%s) = %v, want %v", tt.ip, got, tt.public)
		}
	}
}

func TestCheckHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name, host string
		refused    bool
	}{
		{"a public literal address", "8.8.8.8", false},
		{"loopback", "127.0.0.1", true},
		{"bracketed IPv6 loopback", "[::1]", true},
		{"cloud metadata", "169.254.169.254", true},
		{"a private network", "10.0.0.5", true},
		{"localhost by name", "localhost", true},
		{"a name under localhost", "hooks.localhost", true},
		{"localhost with a trailing dot", "LOCALHOST.", true},
		{"loopback as one decimal number", "2130706433", true},
		{"loopback in short form", "127.1", true},
		{"loopback in hex", "0x7f.0x1", true},
		{"a name ending in hex letters", "example.cafe", false},
		{"a name with digits", "hooks.example.com", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckHost(ctx, nil, tt.host)
			if got := errors.Is(err, ErrNotPublic); got != tt.refused {
				t.Fatalf("CheckHost(%q) = %v, refused %v, want %v", tt.host, err, got, tt.refused)
			}
		})
	}
}

func TestDialerRefusesLoopbackUnlessAllowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	client := func(allow bool) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: Dialer(time.Second, allow).DialContext}}
	}
	if _, err := client(false).Get(srv.URL); !errors.Is(err, ErrNotPublic) {
		t.Fatalf("guarded dial to %s: %v, want ErrNotPublic", srv.URL, err)
	}
	// A name resolving to loopback is refused at connect time too (what DNS
	// rebinding would rely on).
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if _, err := client(false).Get("http://localhost:" + port + "/"); !errors.Is(err, ErrNotPublic) {
		t.Fatalf("guarded dial to localhost: %v, want ErrNotPublic", err)
	}
	resp, err := client(true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("allowed dial: %d", resp.StatusCode)
	}
}
