// Package metrics builds the Prometheus registry Portico injects everywhere (never
// the global default) and the HTTP request metrics shared by the Echo side.
// It imports only the Prometheus client and the standard library.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Handler serves the registry in Prometheus text format.
func Handler(r *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(r, promhttp.HandlerOpts{Registry: r})
}

// HTTP counts management, UI and OAuth requests by area (first path segment),
// method and status.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTP registers the request metrics on r.
func NewHTTP(r prometheus.Registerer) *HTTP {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_http_requests_total",
			Help: "Requests answered by the management API, UIs and OAuth server, by area, method and status.",
		}, []string{"area", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portico_http_request_duration_seconds",
			Help:    "Time to answer management API, UI and OAuth requests, by area.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"area"}),
	}
	r.MustRegister(h.requests, h.duration)
	return h
}

// Observe records one answered request.
func (h *HTTP) Observe(area, method string, status int, elapsed time.Duration) {
	h.requests.WithLabelValues(area, method, strconv.Itoa(status)).Inc()
	h.duration.WithLabelValues(area).Observe(elapsed.Seconds())
}
