// Package period computes the fixed windows tiers count in: the gateway's
// limiter, analytics' quota alerts and the portal's "remaining" all agree on
// them because they share this one definition. period imports only the
// standard library.
package period

import "time"

// Window returns the fixed UTC window containing now for a tier's period:
// "second", "minute", "hour", "day" or "month" (calendar month); anything
// else counts per minute.
func Window(per string, now time.Time) (start, end time.Time) {
	now = now.UTC()
	switch per {
	case "second":
		start = now.Truncate(time.Second)
		return start, start.Add(time.Second)
	case "hour":
		start = now.Truncate(time.Hour)
		return start, start.Add(time.Hour)
	case "day":
		start = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case "month":
		start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	start = now.Truncate(time.Minute)
	return start, start.Add(time.Minute)
}
