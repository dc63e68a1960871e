// Package billingtest gives tests a stripe-mock to talk to and webhook events
// signed the way Stripe signs them. It imports only the standard library and
// stripe-go.
package billingtest

import (
	"encoding/json"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// MockVersion is the stripe-mock the tests are written against.
const MockVersion = "v0.203.0"

// StripeMock returns the base URL (no /v1) of a stripe-mock: STRIPE_API_BASE
// when `make test` exported one, else one started on free loopback ports for
// this test and stopped when it ends. Without the binary the test is skipped,
// or failed under CI=true.
func StripeMock(t testing.TB) string {
	t.Helper()
	if base := os.Getenv("STRIPE_API_BASE"); base != "" {
		return base
	}
	bin := binary()
	if bin == "" {
		msg := "stripe-mock not found; install it with `go install github.com/stripe/stripe-mock@" + MockVersion + "` or run `make test`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	base, stop, err := Start(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return base
}

// binary finds the stripe-mock executable: $GOBIN, $GOPATH/bin, then $PATH.
func binary() string {
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	for _, p := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	p, _ := exec.LookPath("stripe-mock")
	return p
}

// Start runs stripe-mock (bin) on a free loopback port and waits until it
// answers; stop ends that process.
func Start(bin string) (base string, stop func(), err error) {
	for try := 0; try < 3; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		// HTTPS on a loopback port of the kernel's choosing: without it
		// stripe-mock also listens on *:12112.
		cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:")
		cmd.Env = withoutPort(os.Environ()) // stripe-mock reads PORT
		if err := cmd.Start(); err != nil {
			return "", nil, fmt.Errorf("billingtest: start stripe-mock: %w", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-done
		}
		base := "http://" + addr
		if waitUp(base, done) {
			return base, stop, nil
		}
		stop()
	}
	return "", nil, fmt.Errorf("billingtest: stripe-mock did not start")
}

func withoutPort(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if len(kv) < 5 || kv[:5] != "PORT=" {
			out = append(out, kv)
		}
	}
	return out
}

// waitUp polls base until any HTTP answer (stripe-mock answers 401 without a
// key), for up to 15 s or until the process exits.
func waitUp(base string, exited <-chan struct{}) bool {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := c.Get(base + "/v1/customers"); err == nil {
			resp.Body.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// APIVersion is the Stripe API version stripe-go v76 speaks.
const APIVersion = "2023-10-16"

// Event returns a Stripe event's JSON with object as its data.object.
func Event(id, typ string, object any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": APIVersion, "type": typ, "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": object},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns payload and the Stripe-Signature header Stripe would send for
// it with secret, signed now.
func Sign(payload []byte, secret string) ([]byte, string) {
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
	return sp.Payload, sp.Header
}
