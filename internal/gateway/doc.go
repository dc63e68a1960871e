// Package gateway is Portico's data plane: every request whose first path segment
// is not reserved arrives here. It takes the current snapshot with one atomic load
// and runs the route's steps — state gate, credential, subscription and scope,
// rate limit, proxy — then hands a fixed-size metering event to the analytics
// sink without blocking.
//
// What a caller controls is bounded: a body over the API's max_request_bytes is
// refused (413) before the backend sees it, a body that stalls is dropped (408)
// and an answer the caller stops reading is cut off, each after an idle timeout
// restarted on every read or write, so long streams that keep moving pass.
// Whatever breaks, each call is metered exactly once.
//
// The hot path makes no database call and takes no lock beyond the limiter's
// shard read lock. gateway imports its sub-packages (snapshot, ratelimit) and
// platform only: never the store, GORM, Echo or a domain module (the archtest
// package enforces it).
package gateway
