package period

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	now := time.Date(2026, 12, 31, 23, 59, 30, 500, time.FixedZone("X", 3600)) // 22:59:30 UTC
	for _, tc := range []struct{ per, start, end string }{
		{"second", "2026-12-31T22:59:30Z", "2026-12-31T22:59:31Z"},
		{"minute", "2026-12-31T22:59:00Z", "2026-12-31T23:00:00Z"},
		{"hour", "2026-12-31T22:00:00Z", "2026-12-31T23:00:00Z"},
		{"day", "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"month", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"fortnight", "2026-12-31T22:59:00Z", "2026-12-31T23:00:00Z"},
	} {
		s, e := Window(tc.per, now)
		if s.Format(time.RFC3339) != tc.start || e.Format(time.RFC3339) != tc.end {
			t.Errorf("%s: %s – %s, want %s – %s", tc.per, s.Format(time.RFC3339), e.Format(time.RFC3339), tc.start, tc.end)
		}
	}
}
