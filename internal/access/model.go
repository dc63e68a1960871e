package access

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"time"
)

// Grant types an application may use (RFC 6749). Implicit and password are
// deliberately absent.
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// AnyScope in an application's allowed scopes lets it ask for any well-formed
// scope. It is the default until subscriptions narrow applications to the
// operation scopes of the APIs they subscribe to.
const AnyScope = "*"

// Application is a developer's client of the APIs, and its OAuth 2.0 client.
type Application struct {
	ID               string `gorm:"primaryKey"`
	OrgID            string
	OwnerID          string // the developer who made it
	Name             string // unique per owner
	Description      string
	ClientID         string
	ClientSecretHash string // SecretHasher.Hash of the secret; empty for public clients
	CallbackURLs     StringList
	Public           bool // a public client (SPA, native app): no secret, PKCE only
	GrantTypes       StringList
	AllowedScopes    StringList
	// Tier is the application-level limit (AppTiers), across all its APIs.
	Tier      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName pins the table name.
func (Application) TableName() string { return "applications" }

// HasGrant reports whether the application may use grant type g.
func (a Application) HasGrant(g string) bool {
	for _, x := range a.GrantTypes {
		if x == g {
			return true
		}
	}
	return false
}

// StringList is a list of strings stored as a JSON text column.
type StringList []string

// Scan reads the JSON text.
func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return errors.New("access: a JSON list column holds a non-text value")
	}
	if len(b) == 0 {
		*l = nil
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// Value writes the JSON text ("[]" for an empty list).
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}
