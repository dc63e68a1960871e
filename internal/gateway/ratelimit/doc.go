// Package ratelimit counts calls against limits in fixed windows (a second up to a
// calendar month), exactly: with a limit of N per window, N calls pass and the
// N+1st is refused, and a refused call consumes nothing. One Limiter interface;
// the in-process implementation lives here, kept outside the gateway's snapshot so
// a configuration reload never resets a counter.
//
// ratelimit imports only the standard library.
package ratelimit
