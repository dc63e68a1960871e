package catalog

import (
	"encoding/json"
	"time"
)

// State is where an API is in its lifecycle.
type State string

// The lifecycle states (WSO2's).
const (
	StateCreated    State = "CREATED"
	StatePrototyped State = "PROTOTYPED"
	StatePublished  State = "PUBLISHED"
	StateBlocked    State = "BLOCKED"
	StateDeprecated State = "DEPRECATED"
	StateRetired    State = "RETIRED"
)

// States lists every state in lifecycle order.
var States = []State{StateCreated, StatePrototyped, StatePublished, StateBlocked, StateDeprecated, StateRetired}

// Visible reports whether developers may see an API in this state.
func (s State) Visible() bool {
	return s == StatePublished || s == StatePrototyped || s == StateDeprecated
}

// API is one version of an API. All versions of one API share a FamilyID and a
// Context.
type API struct {
	ID             string `gorm:"primaryKey"`
	OrgID          string
	FamilyID       string
	Name           string
	Context        string
	Version        string
	Description    string
	Tags           string // JSON list
	Visibility     string
	State          State
	DefaultVersion bool
	Endpoints      string // JSON list of Endpoint
	Balance        string
	// BackendAuthType is "none", "basic" or "header"; BackendAuthName is the basic
	// user name or the header's name; BackendSecret is the sealed password or value.
	BackendAuthType string
	BackendAuthName string
	BackendSecret   string
	AuthTypes       string // JSON list: "oauth2", "api_key"
	Tiers           string // JSON list of tier names
	CORS            string `gorm:"column:cors"` // JSON CORS
	TimeoutMS       int    `gorm:"column:timeout_ms"`
	// MaxRequestBytes is the largest request body the gateway passes to the
	// backend (413 above it).
	MaxRequestBytes int64
	Approval        string
	// ValidateRequests has the gateway check calls against OpenAPI.
	ValidateRequests bool
	Transforms       string // JSON rewrite rules, applied by the gateway
	// BackendTLSCert (PEM) and BackendTLSKey (sealed PEM) are the client
	// certificate for mutual TLS; BackendTLSCA (PEM) is a CA to trust for the backend.
	BackendTLSCert string `gorm:"column:backend_tls_cert"`
	BackendTLSKey  string `gorm:"column:backend_tls_key"`
	BackendTLSCA   string `gorm:"column:backend_tls_ca"`
	// LimitRequests per LimitPer caps the whole API (0: no API-wide limit).
	LimitRequests int64
	LimitPer      string
	OpenAPI       string `gorm:"column:openapi"`
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName pins the table name.
func (API) TableName() string { return "apis" }

// apiContext reserves a context for one API family.
type apiContext struct {
	Context   string `gorm:"primaryKey"`
	OrgID     string
	FamilyID  string
	CreatedAt time.Time
}

func (apiContext) TableName() string { return "api_contexts" }

// Endpoint is one backend URL.
type Endpoint struct {
	URL string `json:"url"`
}

// CORS is an API's cross-origin policy, applied by the gateway.
type CORS struct {
	Enabled          bool     `json:"enabled"`
	AllowOrigins     []string `json:"allow_origins"`
	AllowMethods     []string `json:"allow_methods"`
	AllowHeaders     []string `json:"allow_headers"`
	AllowCredentials bool     `json:"allow_credentials"`
	MaxAge           int      `json:"max_age"`
}

// Operation is one method and path template of an API.
type Operation struct {
	ID            string `gorm:"primaryKey"`
	APIID         string `gorm:"column:api_id"`
	Method        string
	Path          string
	Summary       string
	Scopes        string // JSON list
	Auth          bool
	LimitRequests int64
	LimitPer      string
	Position      int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName pins the table name.
func (Operation) TableName() string { return "api_operations" }

// Document is a Markdown page about an API.
type Document struct {
	ID        string `gorm:"primaryKey"`
	APIID     string `gorm:"column:api_id"`
	Title     string
	Body      string
	Position  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table name.
func (Document) TableName() string { return "api_documents" }

// Tier is a rate-limit and billing plan. Requests == 0 means unlimited.
type Tier struct {
	ID              string `gorm:"primaryKey"`
	OrgID           string
	Name            string
	Description     string
	Requests        int64
	Per             string
	Burst           int64
	MonthlyFeeCents int64
	PerCallCents    int64
	Builtin         bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName pins the table name.
func (Tier) TableName() string { return "tiers" }

// Unlimited reports whether the tier puts no limit on requests.
func (t Tier) Unlimited() bool { return t.Requests == 0 }

// Paid reports whether subscribing costs money.
func (t Tier) Paid() bool { return t.MonthlyFeeCents > 0 || t.PerCallCents > 0 }

func decodeList(s string) []string {
	out := []string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &out)
	}
	return out
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

// TagList returns the API's tags.
func (a API) TagList() []string { return decodeList(a.Tags) }

// AuthList returns the credential types the gateway accepts ("oauth2", "api_key").
func (a API) AuthList() []string { return decodeList(a.AuthTypes) }

// TierList returns the names of the tiers developers may subscribe with.
func (a API) TierList() []string { return decodeList(a.Tiers) }

// EndpointList returns the backend endpoints.
func (a API) EndpointList() []Endpoint {
	out := []Endpoint{}
	if a.Endpoints != "" {
		_ = json.Unmarshal([]byte(a.Endpoints), &out)
	}
	return out
}

// BackendURL returns the first backend endpoint, or "".
func (a API) BackendURL() string {
	if eps := a.EndpointList(); len(eps) > 0 {
		return eps[0].URL
	}
	return ""
}

// CORSPolicy returns the API's CORS settings.
func (a API) CORSPolicy() CORS {
	var c CORS
	if a.CORS != "" {
		_ = json.Unmarshal([]byte(a.CORS), &c)
	}
	return c
}

// ScopeList returns the scopes an operation requires.
func (o Operation) ScopeList() []string { return decodeList(o.Scopes) }
