package snapshot

import (
	"crypto"
	"time"
)

// API states the gateway acts on (CONTRACT §7).
const (
	StateCreated    = "CREATED"
	StatePrototyped = "PROTOTYPED"
	StatePublished  = "PUBLISHED"
	StateDeprecated = "DEPRECATED"
	StateBlocked    = "BLOCKED"
	StateRetired    = "RETIRED"
)

// Subscription statuses.
const (
	SubActive    = "ACTIVE"
	SubPending   = "PENDING"
	SubBlocked   = "BLOCKED"
	SubSuspended = "SUSPENDED" // unpaid (CONTRACT §9)
)

// Load-balancing modes over an API's backends.
const (
	BalanceFailover   = "failover"
	BalanceRoundRobin = "round_robin"
)

// Auth types an API accepts.
const (
	AuthOAuth2 = "oauth2"
	AuthAPIKey = "api_key"
)

// Config is everything the gateway needs, as plain data. The loader builds it
// in one read-only transaction.
type Config struct {
	Version int64
	// Issuer and Audience are what access tokens must carry (iss, aud).
	Issuer   string
	Audience string
	// SigningKeys verify access tokens, by kid.
	SigningKeys []SigningKey
	// RevokedTokens lists the jti of revoked, unexpired access tokens.
	RevokedTokens []string
	APIs          []API
	Applications  []Application
	Keys          []APIKey
	Subscriptions []Subscription
	Tiers         []Tier
}

// SigningKey is a public key that verifies access tokens.
type SigningKey struct {
	KID       string
	Algorithm string // RS256, ES256, ...
	Key       crypto.PublicKey
}

// API is one version of an API.
type API struct {
	ID      string
	OrgID   string
	Name    string
	Context string
	Version string
	// Default makes /{context}/… reach this version.
	Default bool
	State   string
	// Auth lists accepted credentials; empty means the API is open.
	Auth []string
	// Backends are base URLs. With Balance "failover" (the default) the first
	// healthy one takes every call; with "round_robin" they take turns.
	Backends  []string
	Balance   string
	TimeoutMS int
	// MaxRequestBytes caps a call's body (0: DefaultMaxRequestBytes).
	MaxRequestBytes int64
	// BackendHeader, when set, is added to every upstream request (a secret
	// header or a prebuilt basic-auth Authorization).
	BackendHeader      string
	BackendHeaderValue string
	Operations         []Operation
	// CORS, when set, enables cross-origin calls from browsers.
	CORS *CORS
	// ValidateRequests checks every call against Spec (the OpenAPI document,
	// JSON) before it reaches the backend.
	ValidateRequests bool
	Spec             string
	// Transforms are the API's rewrite rules, JSON as the catalog stores them.
	Transforms string
	// TLSCert and TLSKey (PEM) are the client certificate for mutual TLS to the
	// backend; TLSCA (PEM) is an extra CA to trust for it.
	TLSCert, TLSKey, TLSCA string
	// Limit caps all calls to the API together (nil: none).
	Limit *Limit
}

// Operation is a method and a path template ("/pets/{id}") of an API.
type Operation struct {
	Method string
	Path   string
	// Scopes a bearer token must all hold.
	Scopes []string
	// NoAuth opens this one operation even on a protected API.
	NoAuth bool
	// Mock is the PROTOTYPED answer for this operation.
	Mock *MockResponse
	// Limit, when set, caps calls to this one operation (per subscription, or
	// per API when the API is open), on top of the tier.
	Limit *Limit
}

// Limit is Requests per Per ("second" … "month").
type Limit struct {
	Requests int64
	Per      string
}

// CORS is an API's cross-origin policy; the gateway answers preflights itself.
type CORS struct {
	AllowOrigins     []string // "*" allows any origin
	AllowMethods     []string
	AllowHeaders     []string
	AllowCredentials bool
	MaxAge           int // seconds
}

// MockResponse is an example answer taken from the OpenAPI document.
type MockResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// Application is a developer's client.
type Application struct {
	ID       string
	OrgID    string
	ClientID string
	// Header is ID as a header value, built once (the gateway sends it to the
	// backend in X-Portico-Application; nobody may change it).
	Header []string
	// Limit is the application-level limit across all its APIs (nil: none).
	Limit *Limit
	// LimitKey counts it.
	LimitKey string
}

// APIKey is an API key by its SHA-256 (hex), as the access module stores it.
type APIKey struct {
	Hash          string
	ApplicationID string
	ExpiresAt     time.Time // zero: never
}

// Subscription lets an application call an API on a tier.
type Subscription struct {
	ID            string
	ApplicationID string
	APIID         string
	Tier          string
	Status        string
}

// Tier is a rate limit: Requests per Per ("second", "minute", "hour", "day",
// "month"), with an optional per-second Burst.
type Tier struct {
	OrgID    string
	Name     string
	Requests int64
	Per      string
	Burst    int64
}
