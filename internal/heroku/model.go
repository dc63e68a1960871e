package heroku

import (
	"time"

	"portico/internal/store/outbox"
)

// Resource states.
const (
	StateProvisioning  = "provisioning"
	StateProvisioned   = "provisioned"
	StateFailed        = "failed"
	StateDeprovisioned = "deprovisioned"
)

// Resource is one add-on resource, keyed on Heroku's uuid.
type Resource struct {
	UUID       string `gorm:"primaryKey;column:uuid"`
	Name       string
	Plan       string
	Region     string
	State      string
	OrgID      string
	APIID      string `gorm:"column:api_id"`
	AppName    string
	BackendURL string `gorm:"column:backend_url"`
	// GrantCode, AccessToken and RefreshToken are sealed.
	GrantCode      string
	GrantExpiresAt *time.Time
	AccessToken    string
	RefreshToken   string
	TokenExpiresAt *time.Time
	// ResponseStatus and the sealed ResponseBody are the first answer, replayed
	// to a repeated provision request.
	ResponseStatus  int
	ResponseBody    string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DeprovisionedAt *time.Time
}

// TableName pins the table name.
func (Resource) TableName() string { return "heroku_resources" }

// Job states.
const ()

// Job kinds.
const (
	// jobProvision finishes an asynchronous (202) provision: grant exchange,
	// backend discovery and check, publish, config vars, provision action.
	jobProvision = "provision"
	// jobSetup finishes a synchronous provision in the background: grant
	// exchange and, when no option named the backend, discovering the app.
	jobSetup = "setup"
)

// job is a unit of durable background work on one resource.
type job struct {
	outbox.Row
	ResourceUUID string `gorm:"column:resource_uuid"`
	Deadline     time.Time
}

func (job) TableName() string { return "heroku_jobs" }

// ssoUser maps a Heroku user of a resource to the Portico user they sign in as.
type ssoUser struct {
	ResourceUUID string `gorm:"primaryKey;column:resource_uuid"`
	HerokuUser   string `gorm:"primaryKey"`
	UserID       string
	CreatedAt    time.Time
}

func (ssoUser) TableName() string { return "heroku_sso_users" }

// ssoReplay remembers a used SSO token until it would be stale anyway.
type ssoReplay struct {
	TokenHash string `gorm:"primaryKey"`
	ExpiresAt time.Time
}

func (ssoReplay) TableName() string { return "heroku_sso_replays" }
