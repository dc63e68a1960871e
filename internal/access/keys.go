package access

import (
	"context"
	"fmt"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/secrets"
)

// APIKey is a key an application sends in the `apikey` header. Only its hash is
// stored; the key itself is shown once, when it is made.
type APIKey struct {
	ID            string `gorm:"primaryKey"`
	OrgID         string
	ApplicationID string
	Name          string
	KeyHash       string
	Prefix        string
	CreatedBy     string
	CreatedAt     time.Time
	ExpiresAt     *time.Time
}

// TableName pins the table name.
func (APIKey) TableName() string { return "api_keys" }

// MaxKeysPerApplication bounds how many live keys an application holds.
const MaxKeysPerApplication = 20

// NewKey is what a developer gives to make a key; both fields are optional.
type NewKey struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// ErrKeyNotFound is the answer for a key that is not the caller's.
var ErrKeyNotFound = apperr.NotFound("API key")

// CreateKey makes a new API key for one of the caller's applications and returns
// it with the key in clear, which is never shown again.
func (s *Service) CreateKey(ctx context.Context, actor account.Principal, appID string, in NewKey) (APIKey, string, error) {
	name := strings.TrimSpace(in.Name)
	if len(name) > MaxNameLen {
		return APIKey{}, "", apperr.Invalid("name", "invalid_name", fmt.Sprintf("A key's name is at most %d characters.", MaxNameLen))
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return APIKey{}, "", apperr.Invalid("expires_at", "invalid_expiry", "expires_at must be in the future.")
	}
	key := secrets.Token("pk_", 32)
	k := APIKey{ID: account.NewID(), Name: name, KeyHash: secrets.Hash(key), Prefix: key[:10], CreatedBy: actor.UserID, CreatedAt: now}
	if in.ExpiresAt != nil {
		exp := in.ExpiresAt.UTC()
		k.ExpiresAt = &exp
	}
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		app, err := s.repo.byID(ctx, actor.OrgID, scope(actor), appID)
		if err != nil {
			return err
		}
		n, err := s.repo.countKeys(ctx, app.ID)
		if err != nil {
			return err
		}
		if n >= MaxKeysPerApplication {
			return apperr.Conflict("too_many_keys", fmt.Sprintf("An application holds at most %d keys; revoke one first.", MaxKeysPerApplication))
		}
		k.OrgID, k.ApplicationID = app.OrgID, app.ID
		if err := s.repo.createKey(ctx, &k); err != nil {
			return err
		}
		if err := s.accounts.Audit(ctx, actor, "api_key.create", "application", app.ID, map[string]any{"key_id": k.ID, "name": k.Name}); err != nil {
			return err
		}
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, key, nil
}

// Keys lists an application's keys (never the keys themselves).
func (s *Service) Keys(ctx context.Context, actor account.Principal, appID string) ([]APIKey, error) {
	app, err := s.repo.byID(ctx, actor.OrgID, scope(actor), appID)
	if err != nil {
		return nil, err
	}
	return s.repo.keys(ctx, app.ID)
}

// RevokeKey deletes a key; every gateway refuses it within a second.
func (s *Service) RevokeKey(ctx context.Context, actor account.Principal, appID, keyID string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		app, err := s.repo.byID(ctx, actor.OrgID, scope(actor), appID)
		if err != nil {
			return err
		}
		if err := s.repo.deleteKey(ctx, app.ID, keyID); err != nil {
			return err
		}
		if err := s.accounts.Audit(ctx, actor, "api_key.revoke", "application", app.ID, map[string]any{"key_id": keyID}); err != nil {
			return err
		}
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
}
