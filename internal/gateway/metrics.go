package gateway

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/gateway/snapshot"
)

// gwMetrics are the gateway's Prometheus series. Each route gets its handles
// once per snapshot build, so counting a call is a few atomic adds.
type gwMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	upstream *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *gwMetrics {
	m := &gwMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_gateway_requests_total",
			Help: "Calls answered by the gateway, by API (context/version) and status class.",
		}, []string{"api", "class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portico_gateway_request_duration_seconds",
			Help:    "Time to answer a call through the gateway, by API.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_gateway_upstream_errors_total",
			Help: "Backend calls that failed, by API and kind (unavailable, timeout).",
		}, []string{"api", "kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.upstream)
	}
	return m
}

// routeMetrics are one route's handles.
type routeMetrics struct {
	classes     [6]prometheus.Counter // 0: other, 1-5: 1xx-5xx
	latency     prometheus.Observer
	unavailable prometheus.Counter
	timeout     prometheus.Counter
}

func (m *gwMetrics) forRoute(r *snapshot.Route) any {
	name := r.API.Context + "/" + r.API.Version
	rm := &routeMetrics{latency: m.latency.WithLabelValues(name),
		unavailable: m.upstream.WithLabelValues(name, "unavailable"), timeout: m.upstream.WithLabelValues(name, "timeout")}
	rm.classes[0] = m.requests.WithLabelValues(name, "other")
	for i := 1; i <= 5; i++ {
		rm.classes[i] = m.requests.WithLabelValues(name, strconv.Itoa(i)+"xx")
	}
	return rm
}

func (rm *routeMetrics) observe(status int, seconds float64) {
	c := status / 100
	if c < 1 || c > 5 {
		c = 0
	}
	rm.classes[c].Inc()
	rm.latency.Observe(seconds)
}
