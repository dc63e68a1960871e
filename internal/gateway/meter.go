package gateway

import (
	"time"
)

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
}

// Meter receives events. Record must not block: an implementation with a full
// buffer drops the event and counts it.
type Meter interface {
	Record(Event)
}

type noMeter struct{}

func (noMeter) Record(Event) {}
