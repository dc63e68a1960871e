// Package gateway is Portico's data plane: every request whose first path segment
// is not reserved arrives here. It takes the current snapshot with one atomic load
// and runs the route's steps — state gate, credential, subscription and scope,
// rate limit, proxy — then hands a fixed-size metering event to the analytics
// sink without blocking.
//
// The hot path makes no database call and takes no lock beyond the limiter's
// shard read lock. gateway imports its sub-packages (snapshot, ratelimit) and
// platform only: never the store, GORM, Echo or a domain module (the archtest
// package enforces it).
package gateway
