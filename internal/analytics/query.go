package analytics

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// Query limits.
const (
	MaxRange     = 400 * 24 * time.Hour
	MaxPoints    = 1500
	DefaultRange = 24 * time.Hour
	DefaultTop   = 10
	MaxTop       = 100
	maxIDLen     = 100
)

// Intervals a time series can be bucketed by, in seconds.
var intervals = map[string]int64{"minute": 60, "hour": 3600, "day": 86400}

// Query is what a usage question asks: a time range and optional filters.
type Query struct {
	From, To      time.Time
	APIID         string
	ApplicationID string
	Interval      string // minute, hour or day (time series)
	Limit         int    // top lists
}

// ParseQuery reads and checks from, to (RFC 3339), api_id, application_id,
// interval and limit. Without from and to it asks for the 24 hours before now;
// without interval it picks one that gives a readable number of points.
func ParseQuery(v url.Values, now time.Time) (Query, error) {
	q := Query{To: now.UTC(), APIID: strings.TrimSpace(v.Get("api_id")), ApplicationID: strings.TrimSpace(v.Get("application_id")), Limit: DefaultTop}
	parse := func(field string) (time.Time, bool, error) {
		s := strings.TrimSpace(v.Get(field))
		if s == "" {
			return time.Time{}, false, nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return t, false, apperr.Invalid(field, "invalid_time", field+" must be an RFC 3339 time such as 2025-01-31T12:00:00Z.")
		}
		return t.UTC(), true, nil
	}
	to, hasTo, err := parse("to")
	if err != nil {
		return q, err
	}
	if hasTo {
		q.To = to
	}
	from, hasFrom, err := parse("from")
	if err != nil {
		return q, err
	}
	q.From = q.To.Add(-DefaultRange)
	if hasFrom {
		q.From = from
	}
	if !q.From.Before(q.To) {
		return q, apperr.Invalid("from", "invalid_range", "from must be before to.")
	}
	if q.To.Sub(q.From) > MaxRange {
		return q, apperr.Invalid("from", "range_too_long", fmt.Sprintf("Ask for at most %d days at a time.", int(MaxRange.Hours()/24)))
	}
	if len(q.APIID) > maxIDLen {
		return q, apperr.Invalid("api_id", "invalid_id", "api_id is not an API id.")
	}
	if len(q.ApplicationID) > maxIDLen {
		return q, apperr.Invalid("application_id", "invalid_id", "application_id is not an application id.")
	}
	q.Interval = strings.TrimSpace(v.Get("interval"))
	span := q.To.Sub(q.From)
	if q.Interval == "" {
		switch {
		case span <= 6*time.Hour:
			q.Interval = "minute"
		case span <= 31*24*time.Hour:
			q.Interval = "hour"
		default:
			q.Interval = "day"
		}
	}
	step, ok := intervals[q.Interval]
	if !ok {
		return q, apperr.Invalid("interval", "invalid_interval", "interval must be minute, hour or day.")
	}
	if points := int64(span/time.Second)/step + 1; points > MaxPoints {
		return q, apperr.Invalid("interval", "too_many_points",
			fmt.Sprintf("That range has %d %ss; choose a longer interval or a shorter range (at most %d points).", points, q.Interval, MaxPoints))
	}
	if s := strings.TrimSpace(v.Get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxTop {
			return q, apperr.Invalid("limit", "invalid_limit", fmt.Sprintf("limit must be a whole number from 1 to %d.", MaxTop))
		}
		q.Limit = n
	}
	return q, nil
}

// Latency is latency in milliseconds: percentiles from the rollups'
// histograms, the mean and the maximum.
type Latency struct {
	Percentiles
	Avg float64 `json:"avg"`
	Max float64 `json:"max"`
}

// Summary is the usage of a time range.
type Summary struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	LatencyMS Latency `json:"latency_ms"`
	BytesIn   int64   `json:"bytes_in"`
	BytesOut  int64   `json:"bytes_out"`
	// BackendErrors counts calls the gateway could not complete at the
	// backend (its own 502 and 504 answers).
	BackendErrors int64     `json:"backend_errors"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
}

func summaryOf(a aggRow) Summary {
	s := Summary{Requests: a.Requests, Errors: a.Errors, BytesIn: a.BytesIn, BytesOut: a.BytesOut, BackendErrors: a.BackendErrors}
	if a.Requests > 0 {
		s.ErrorRate = math.Round(float64(a.Errors)/float64(a.Requests)*1e4) / 1e4
		s.LatencyMS = Latency{Percentiles: a.Hist.Percentiles(a.LatencyMaxUS),
			Avg: ms(float64(a.LatencySumUS) / float64(a.Requests)), Max: ms(float64(a.LatencyMaxUS))}
	}
	return s
}

// Summary answers totals, errors and latency percentiles for q.
func (s *Service) Summary(ctx context.Context, p account.Principal, q Query) (Summary, error) {
	f, err := s.scope(ctx, p, q)
	if err != nil {
		return Summary{}, err
	}
	rows, err := s.repo.aggregate(ctx, f, groupNone, 0, 0)
	if err != nil {
		return Summary{}, err
	}
	var out Summary
	if len(rows) == 1 {
		out = summaryOf(rows[0])
	}
	out.From, out.To = q.From, q.To
	return out, nil
}

// Point is one bucket of a time series.
type Point struct {
	T        time.Time `json:"t"`
	Requests int64     `json:"requests"`
	Errors   int64     `json:"errors"`
	P50MS    float64   `json:"p50_ms"`
	P95MS    float64   `json:"p95_ms"`
	P99MS    float64   `json:"p99_ms"`
}

// Timeseries is usage over time, one point per interval (empty ones included).
type Timeseries struct {
	Interval string  `json:"interval"`
	Points   []Point `json:"points"`
}

// Timeseries answers q bucketed by q.Interval, from the bucket holding q.From
// to the one holding q.To, every bucket present.
func (s *Service) Timeseries(ctx context.Context, p account.Principal, q Query) (Timeseries, error) {
	f, err := s.scope(ctx, p, q)
	if err != nil {
		return Timeseries{}, err
	}
	step := intervals[q.Interval]
	if step == 0 {
		return Timeseries{}, apperr.Invalid("interval", "invalid_interval", "interval must be minute, hour or day.")
	}
	rows, err := s.repo.aggregate(ctx, f, groupNone, step, 0)
	if err != nil {
		return Timeseries{}, err
	}
	byT := make(map[int64]aggRow, len(rows))
	for _, r := range rows {
		t, err := strconv.ParseInt(r.Key, 10, 64)
		if err != nil {
			return Timeseries{}, fmt.Errorf("analytics: bucket %q: %w", r.Key, err)
		}
		byT[t] = r
	}
	out := Timeseries{Interval: q.Interval, Points: []Point{}}
	first := floorDiv(q.From.Unix(), step) * step
	last := floorDiv(f.To-1, step) * step
	for t := first; t <= last; t += step {
		pt := Point{T: time.Unix(t, 0).UTC()}
		if r, ok := byT[t]; ok {
			pc := r.Hist.Percentiles(r.LatencyMaxUS)
			pt.Requests, pt.Errors, pt.P50MS, pt.P95MS, pt.P99MS = r.Requests, r.Errors, pc.P50, pc.P95, pc.P99
		}
		out.Points = append(out.Points, pt)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// TopItem is one row of a top list: an API, an application, an operation or a status.
type TopItem struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	P95MS     float64 `json:"p95_ms"`
	BytesOut  int64   `json:"bytes_out"`
}

// Dimensions a top list can rank.
const (
	ByAPI         = "apis"
	ByApplication = "applications"
	ByOperation   = "operations"
	ByStatus      = "statuses"
)

var dimensions = map[string]grouping{ByAPI: groupAPI, ByApplication: groupApplication, ByOperation: groupOperation, ByStatus: groupStatus}

// Top ranks APIs, applications, operations or statuses of q by requests.
func (s *Service) Top(ctx context.Context, p account.Principal, q Query, by string) ([]TopItem, error) {
	g, ok := dimensions[by]
	if !ok {
		return nil, apperr.NotFound("analytics dimension")
	}
	f, err := s.scope(ctx, p, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.repo.aggregate(ctx, f, g, 0, q.Limit)
	if err != nil {
		return nil, err
	}
	items := make([]TopItem, len(rows))
	ids := make([]string, 0, len(rows))
	for i, r := range rows {
		sm := summaryOf(r)
		items[i] = TopItem{ID: r.Key, Name: r.Key, Requests: r.Requests, Errors: r.Errors, ErrorRate: sm.ErrorRate,
			P95MS: sm.LatencyMS.P95, BytesOut: r.BytesOut}
		if r.Key != "" {
			ids = append(ids, r.Key)
		}
	}
	table := map[string]string{ByAPI: "apis", ByApplication: "applications"}[by]
	if table != "" {
		names, err := s.repo.names(ctx, p.OrgID, table, ids)
		if err != nil {
			return nil, err
		}
		for i := range items {
			if n, ok := names[items[i].ID]; ok {
				items[i].Name = n
			}
		}
	}
	if by == ByStatus {
		// Statuses read best in code order.
		sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	}
	return items, nil
}
