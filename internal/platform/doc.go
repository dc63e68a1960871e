// Package platform holds Portico's domain-free building blocks in sub-packages:
// apperr (error kinds and the contract's error format), httpx (Echo set-up, request
// ids, access log, CSRF, pagination), render (HTML templates), secrets (keys derived
// from PORTICO_SECRET, encryption at rest) and metrics (an injected Prometheus
// registry). Nothing under platform imports a domain module or the store.
package platform
