package oauth

import (
	"context"
	"errors"

	"github.com/ory/fosite"

	"portico/internal/access"
)

// Client is an application as fosite sees it.
type Client struct {
	fosite.DefaultClient
	OrgID         string
	ApplicationID string
	Name          string
}

// Applications is what the OAuth server needs from the access module.
type Applications interface {
	ClientByID(ctx context.Context, clientID string) (access.Application, error)
}

func newClient(app access.Application, audience []string) *Client {
	c := &Client{OrgID: app.OrgID, ApplicationID: app.ID, Name: app.Name}
	c.ID = app.ClientID
	c.Secret = []byte(app.ClientSecretHash)
	c.RedirectURIs = append([]string(nil), app.CallbackURLs...)
	c.GrantTypes = append([]string(nil), app.GrantTypes...)
	c.ResponseTypes = []string{"code"}
	c.Scopes = append([]string(nil), app.AllowedScopes...)
	c.Audience = audience
	c.Public = app.Public
	return c
}

// secretHasher adapts access.SecretHasher to fosite.Hasher: an HMAC compare in
// constant time instead of fosite's default bcrypt (cost 12, ~250 ms a request).
type secretHasher struct{ h *access.SecretHasher }

var errSecretMismatch = errors.New("oauth: client secret does not match")

func (s secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if !s.h.Verify(string(hash), data) {
		return errSecretMismatch
	}
	return nil
}

func (s secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	return []byte(s.h.Hash(data)), nil
}

// scopeStrategy grants a scope when it is well formed and the client may ask
// for it: listed exactly, or the client holds access.AnyScope.
func scopeStrategy(allowed []string, scope string) bool {
	if !access.ValidScope(scope) {
		return false
	}
	for _, a := range allowed {
		if a == scope || a == access.AnyScope {
			return true
		}
	}
	return false
}
