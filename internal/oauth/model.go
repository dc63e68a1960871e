package oauth

import "time"

// RequestFields are the columns every token table shares: a fosite Requester with its
// session as JSON and only allow-listed form fields.
type RequestFields struct {
	RequestID         string
	ClientID          string
	OrgID             string
	Subject           string
	RequestedAt       time.Time
	RequestedScopes   string // space-separated
	GrantedScopes     string
	RequestedAudience string
	GrantedAudience   string
	FormData          string // URL-encoded, allow-listed
	SessionData       string // JSON
	ExpiresAt         time.Time
}

type codeRow struct {
	Signature     string `gorm:"primaryKey"`
	RequestFields `gorm:"embedded"`
	Active        bool
}

func (codeRow) TableName() string { return "oauth_authorization_codes" }

type pkceRow struct {
	Signature     string `gorm:"primaryKey"`
	RequestFields `gorm:"embedded"`
}

func (pkceRow) TableName() string { return "oauth_pkce_sessions" }

type accessRow struct {
	SignatureHash string `gorm:"primaryKey"`
	JTI           string `gorm:"column:jti"`
	RequestFields `gorm:"embedded"`
}

func (accessRow) TableName() string { return "oauth_access_tokens" }

type refreshRow struct {
	Signature           string `gorm:"primaryKey"`
	AccessSignatureHash string
	RequestFields       `gorm:"embedded"`
	Active              bool
}

func (refreshRow) TableName() string { return "oauth_refresh_tokens" }

// consentRow remembers the scopes a user approved for a client.
type consentRow struct {
	UserID    string `gorm:"primaryKey"`
	ClientID  string `gorm:"primaryKey"`
	Scopes    string // JSON list
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (consentRow) TableName() string { return "oauth_consents" }

// signingKeyRow is a key that signs (not_after NULL) or signed access tokens.
type signingKeyRow struct {
	KID        string `gorm:"primaryKey;column:kid"`
	Algorithm  string
	PrivateKey string // sealed PKCS #8
	PublicJWK  string `gorm:"column:public_jwk"`
	CreatedAt  time.Time
	NotAfter   *time.Time
}

func (signingKeyRow) TableName() string { return "oauth_signing_keys" }

// RevokedToken is an access token refused before its expiry. The gateway loads
// the live ones into its snapshot.
type RevokedToken struct {
	JTI       string `gorm:"primaryKey;column:jti"`
	ClientID  string
	ExpiresAt time.Time
	RevokedAt time.Time
}

// TableName pins the table name.
func (RevokedToken) TableName() string { return "oauth_revoked_tokens" }
