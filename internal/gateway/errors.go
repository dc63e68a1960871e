package gateway

import (
	"net/http"
	"strconv"
)

// gwError is a refusal with a stable code. Bodies are built once at start.
type gwError struct {
	status int
	code   string
	body   []byte
}

func newError(status int, code, message string) *gwError {
	body := `{"error":{"code":"` + code + `","message":` + strconv.Quote(message) + `}}` + "\n"
	return &gwError{status: status, code: code, body: []byte(body)}
}

// The gateway's refusals (CONTRACT §4, §7). Codes are stable: clients match on them.
var (
	errNoAPI               = newError(http.StatusNotFound, "api_not_found", "No API is published at this path.")
	errNoOperation         = newError(http.StatusNotFound, "operation_not_found", "This API has no operation for that method and path.")
	errBlocked             = newError(http.StatusServiceUnavailable, "api_blocked", "This API is blocked by its publisher.")
	errNoCredentials       = newError(http.StatusUnauthorized, "missing_credentials", "Send an access token (Authorization: Bearer …) or an API key (apikey header).")
	errBadKey              = newError(http.StatusUnauthorized, "invalid_api_key", "The API key is unknown, expired or revoked.")
	errBadToken            = newError(http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
	errWrongCredential     = newError(http.StatusUnauthorized, "unsupported_credentials", "This API does not accept that kind of credential.")
	errNotSubscribed       = newError(http.StatusForbidden, "not_subscribed", "The application is not subscribed to this API.")
	errPending             = newError(http.StatusForbidden, "subscription_pending", "The subscription is waiting for the publisher's approval.")
	errSubBlocked          = newError(http.StatusForbidden, "subscription_blocked", "The subscription is blocked by the publisher.")
	errPayment             = newError(http.StatusForbidden, "payment_required", "The subscription is suspended until the last invoice is paid.")
	errNoTier              = newError(http.StatusForbidden, "tier_unavailable", "The subscription's tier no longer exists; subscribe again on another tier.")
	errScope               = newError(http.StatusForbidden, "insufficient_scope", "The access token lacks a scope this operation requires.")
	errRateLimited         = newError(http.StatusTooManyRequests, "rate_limited", "Too many requests for this subscription's tier; retry after the time in Retry-After.")
	errQuota               = newError(http.StatusTooManyRequests, "quota_exceeded", "The subscription's quota for this period is used up; it renews at the time in RateLimit-Reset.")
	errOperationLimited    = newError(http.StatusTooManyRequests, "rate_limited", "Too many requests for this operation; retry after the time in Retry-After.")
	errAppLimited          = newError(http.StatusTooManyRequests, "rate_limited", "Too many requests from this application across its APIs (its application tier); retry after the time in Retry-After.")
	errAPILimited          = newError(http.StatusTooManyRequests, "rate_limited", "Too many requests for this API as a whole; retry after the time in Retry-After.")
	errBurstLimited        = newError(http.StatusTooManyRequests, "burst_limited", "Too many requests in this second; slow down.")
	errBadGateway          = newError(http.StatusBadGateway, "backend_unavailable", "The API's backend could not be reached.")
	errTimeout             = newError(http.StatusGatewayTimeout, "backend_timeout", "The API's backend did not answer in time.")
	errTooLargeToTransform = newError(http.StatusRequestEntityTooLarge, "body_too_large", "The request body is larger than the gateway rewrites (10 MiB).")
	errBodyTimeout         = newError(http.StatusRequestTimeout, "request_timeout", "The request body stopped arriving; send it without long pauses.")
	errNotReady            = newError(http.StatusServiceUnavailable, "gateway_not_ready", "The gateway is still loading its configuration.")
	errLimiter             = newError(http.StatusServiceUnavailable, "limiter_unavailable", "Rate limits cannot be checked right now; retry shortly.")
)

var jsonContentType = []string{"application/json"}

func (e *gwError) write(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="portico"`)
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

var errNoMock = newError(http.StatusNotImplemented, "no_mock", "This prototype operation has no example response to answer with.")

// writeError answers with a message made for this call (validation).
func writeError(w http.ResponseWriter, status int, code, message string) {
	newError(status, code, message).write(w)
}
