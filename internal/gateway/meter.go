package gateway

import "portico/internal/platform/metering"

// Event and Meter are the metering package's: analytics implements Meter.
type (
	Event = metering.Event
	Meter = metering.Meter
)
