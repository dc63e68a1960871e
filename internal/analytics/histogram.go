package analytics

import (
	"math"
	"time"
)

// Buckets is how many latency buckets a rollup keeps (columns h00..h36).
// Bucket i < Buckets-1 counts latencies up to bucketBound(i) = 250 µs · 2^(i/2)
// (above the previous bound); the last one counts everything above ~46 s.
// Neighbouring bounds differ by a factor of √2, so a percentile read from the
// histogram is within one bucket (≤ 41%) of the exact one.
const Buckets = 37

// firstBoundUS is the upper bound of bucket 0, in microseconds.
const firstBoundUS = 250

// bucketBound returns bucket i's upper bound in microseconds; the last bucket
// has none (math.MaxInt64).
func bucketBound(i int) int64 {
	if i >= Buckets-1 {
		return math.MaxInt64
	}
	return int64(math.Round(firstBoundUS * math.Pow(2, float64(i)/2)))
}

// bucketOf returns the bucket a latency of us microseconds falls in.
func bucketOf(us int64) int {
	if us <= firstBoundUS {
		return 0
	}
	i := int(math.Ceil(2 * math.Log2(float64(us)/firstBoundUS)))
	// Floating point may land one off at an exact bound: settle on the bounds.
	for i > 0 && us <= bucketBound(i-1) {
		i--
	}
	for i < Buckets-1 && us > bucketBound(i) {
		i++
	}
	return i
}

// Histogram counts latencies by bucket.
type Histogram [Buckets]int64

// Add counts one latency.
func (h *Histogram) Add(d time.Duration) { h[bucketOf(d.Microseconds())]++ }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// Total is the number of latencies counted.
func (h *Histogram) Total() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Quantile estimates the q-quantile (0 < q ≤ 1) in microseconds by linear
// interpolation inside the bucket holding it. maxUS, the largest latency seen
// (0 if unknown), closes the last bucket and caps the estimate. An empty
// histogram answers 0.
func (h *Histogram) Quantile(q float64, maxUS int64) float64 {
	total := h.Total()
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	if rank < 1 {
		rank = 1
	}
	var cum float64
	for i, c := range h {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lower := 0.0
			if i > 0 {
				lower = float64(bucketBound(i - 1))
			}
			upper := float64(bucketBound(i))
			if i == Buckets-1 || (maxUS > 0 && float64(maxUS) < upper) {
				upper = math.Max(float64(maxUS), lower)
			}
			v := lower + (upper-lower)*(rank-cum)/float64(c)
			if maxUS > 0 && v > float64(maxUS) {
				v = float64(maxUS)
			}
			return v
		}
		cum += float64(c)
	}
	return float64(maxUS)
}

// Percentiles are latency percentiles in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// Percentiles returns p50, p95 and p99 in milliseconds, rounded to 0.01 ms.
func (h *Histogram) Percentiles(maxUS int64) Percentiles {
	return Percentiles{P50: ms(h.Quantile(0.50, maxUS)), P95: ms(h.Quantile(0.95, maxUS)), P99: ms(h.Quantile(0.99, maxUS))}
}

func ms(us float64) float64 { return math.Round(us/10) / 100 }
