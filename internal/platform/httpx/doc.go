// Package httpx sets up Echo the same way for every module: request ids, an slog
// access log, panic recovery, Prometheus request metrics, the one error handler that
// writes the contract's error format (or an HTML error page for browsers), strict
// JSON binding, cursor pagination and CSRF protection for forms.
//
// httpx imports apperr and metrics from platform, Echo and the standard library.
package httpx
