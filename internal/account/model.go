package account

import (
	"time"
)

// Role is what a user may do within their organisation.
type Role string

// The roles of CONTRACT §5.
const (
	RoleAdmin     Role = "admin"     // everything in the organisation
	RolePublisher Role = "publisher" // APIs, tiers, analytics
	RoleDeveloper Role = "developer" // their own applications, subscriptions, usage
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleAdmin, RolePublisher, RoleDeveloper}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RolePublisher || r == RoleDeveloper
}

// Organization is a tenant: its own users, APIs, portal and billing.
type Organization struct {
	ID         string `gorm:"primaryKey"`
	Slug       string // unique; the portal lives at /portal/{slug}
	Name       string
	SelfSignup bool // developers may sign up on their own
	// LogoURL and BrandColor brand the portal (empty: Portico's defaults); see
	// branding.go.
	LogoURL    string
	BrandColor string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TableName pins the table name.
func (Organization) TableName() string { return "organizations" }

// User is a person who logs in. E-mail addresses are unique across the
// installation and stored lower-cased.
type User struct {
	ID           string `gorm:"primaryKey"`
	OrgID        string
	Email        string
	Name         string
	PasswordHash string
	Role         Role
	Disabled     bool
	LastLoginAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TableName pins the table name.
func (User) TableName() string { return "users" }

// session is a browser session; the cookie holds the id, the row only its hash.
type session struct {
	IDHash     string `gorm:"primaryKey"`
	UserID     string
	OrgID      string
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

func (session) TableName() string { return "sessions" }

// APIToken is a personal access token for the management API.
type APIToken struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	OrgID      string
	Name       string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  time.Time
}

// TableName pins the table name.
func (APIToken) TableName() string { return "api_tokens" }

// AuditEvent records who did what to which object.
type AuditEvent struct {
	ID         string `gorm:"primaryKey"`
	OrgID      string
	ActorID    string
	ActorEmail string
	Action     string
	ObjectType string
	ObjectID   string
	Detail     string
	CreatedAt  time.Time
}

// TableName pins the table name.
func (AuditEvent) TableName() string { return "audit_events" }
