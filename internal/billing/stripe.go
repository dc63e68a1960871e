package billing

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// stripeClient is the Stripe API with our retry policy. It is built on a
// backend of its own (never the package-level stripe.Key or backends), so
// several of them, pointed at different bases, live side by side in tests.
type stripeClient struct {
	api      *client.API
	attempts int
	backoff  time.Duration
	log      *slog.Logger
}

// newStripeClient returns a client for key at base (no /v1 suffix). stripe-go's
// own network retries are off: call retries with our backoff and the caller's
// idempotency key, and gives up when ctx ends.
func newStripeClient(key, base string, hc *http.Client, attempts int, backoff time.Duration, log *slog.Logger) *stripeClient {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimSuffix(base, "/")),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	backends := &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}
	return &stripeClient{api: client.New(key, backends), attempts: max(attempts, 1), backoff: backoff, log: log}
}

// call runs fn until it succeeds, fails for good, or attempts run out; fn must
// send the same idempotency key each time for writes. Between attempts it
// waits backoff, doubled each time, with jitter.
func (c *stripeClient) call(ctx context.Context, what string, fn func() error) error {
	delay := c.backoff
	var err error
	for i := 1; ; i++ {
		if err = fn(); err == nil || !retryable(err) || i >= c.attempts {
			break
		}
		wait := delay/2 + rand.N(delay/2+1)
		c.log.WarnContext(ctx, "billing: Stripe call failed; retrying", "call", what, "attempt", i, "retry_in", wait.String(), "err", stripeErrText(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay *= 2
	}
	if err != nil {
		return &stripeError{what: what, err: err}
	}
	return nil
}

// retryable reports whether a Stripe error may pass on its own: network
// failures, rate limits, conflicts on an idempotency key in use, and Stripe's
// own errors.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		return true // transport: Stripe may not have answered at all
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests, se.HTTPStatusCode == http.StatusConflict,
		se.HTTPStatusCode >= 500, se.HTTPStatusCode == 0:
		return true
	}
	return false
}

// stripeError names the call that failed without echoing request bodies.
type stripeError struct {
	what string
	err  error
}

func (e *stripeError) Error() string {
	return "billing: Stripe " + e.what + ": " + stripeErrText(e.err)
}
func (e *stripeError) Unwrap() error { return e.err }

// stripeErrText is a Stripe error's status, code and message (never the
// request).
func stripeErrText(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) {
		s := http.StatusText(se.HTTPStatusCode)
		if se.Code != "" {
			s += " " + string(se.Code)
		}
		if se.Msg != "" {
			s += ": " + se.Msg
		}
		return s
	}
	return err.Error()
}

// params returns stripe.Params carrying ctx and an idempotency key (when not
// empty).
func params(ctx context.Context, key string) stripe.Params {
	p := stripe.Params{Context: ctx}
	if key != "" {
		p.SetIdempotencyKey(key)
	}
	return p
}
