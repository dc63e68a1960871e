// Package metering defines the event the gateway emits for every call and the
// interface that receives it. It sits below both the gateway and analytics so
// neither imports the other: the gateway sends, analytics implements Meter, and
// app connects them. It imports only the standard library.
package metering

import "time"

// Event is one metered call: fixed size, no pointers into the request, so
// sending it never keeps a request alive.
type Event struct {
	Time           time.Time
	APIID          string
	Operation      string // "GET /pets/{id}", or "" when the API has no operations
	ApplicationID  string
	SubscriptionID string
	OrgID          string
	Status         int
	Latency        time.Duration
	BytesIn        int64
	BytesOut       int64
	// BackendFailed is set when the gateway could not complete the call at the
	// backend: connection refused or reset, or no answer in time (the 502 and
	// 504 the gateway writes itself, not those the backend sends).
	BackendFailed bool
}

// Meter receives events. Record must not block: an implementation whose buffer
// is full drops the event and counts it.
type Meter interface {
	Record(Event)
}

// Discard is a Meter that keeps nothing.
type Discard struct{}

// Record implements Meter.
func (Discard) Record(Event) {}
