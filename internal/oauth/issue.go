package oauth

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// IssuedToken is an access token issued for the portal's "get a token" button.
type IssuedToken struct {
	AccessToken string
	TokenType   string
	ExpiresIn   time.Duration
	Scope       string
}

// ErrNoClientCredentials is the answer for an application that may not use the
// client credentials grant (a public client, or one whose grants leave it out).
var ErrNoClientCredentials = apperr.Conflict("client_credentials_not_allowed",
	"This application may not use the client credentials grant (it is a public client, or the grant is not among its grant types).")

// IssueForOwner runs the client credentials grant for app on behalf of its
// signed-in owner (or an admin of its organisation), who proves who they are
// with their session instead of the client secret. The token is exactly the one
// POST /oauth2/token would issue to the application; scopes are checked against
// what the application may ask for.
func (s *Server) IssueForOwner(ctx context.Context, actor account.Principal, app access.Application, scopes []string) (IssuedToken, error) {
	if app.OrgID != actor.OrgID || (app.OwnerID != actor.UserID && !actor.Is(account.RoleAdmin)) {
		return IssuedToken{}, access.ErrNotFound
	}
	// Read the client afresh: the caller's copy may predate a change.
	client, err := s.storage.client(ctx, app.ClientID)
	if errors.Is(err, fosite.ErrNotFound) {
		return IssuedToken{}, access.ErrNotFound
	}
	if err != nil {
		return IssuedToken{}, err
	}
	if client.IsPublic() || !client.GetGrantTypes().Has(access.GrantClientCredentials) {
		return IssuedToken{}, ErrNoClientCredentials
	}
	ar := fosite.NewAccessRequest(NewSession(""))
	ar.Client = client
	ar.GrantTypes = fosite.Arguments{access.GrantClientCredentials}
	ar.Form = url.Values{"grant_type": {access.GrantClientCredentials}}
	for _, sc := range scopes {
		if !scopeStrategy(client.GetScopes(), sc) {
			return IssuedToken{}, apperr.Invalid("scope", "invalid_scope", "This application may not ask for the scope "+sc+".")
		}
		ar.AppendRequestedScope(sc)
		ar.GrantScope(sc)
	}
	ar.GrantAudience(s.cfg.Issuer)
	ar.GetSession().SetExpiresAt(fosite.AccessToken, time.Now().UTC().Add(s.cfg.AccessTokenTTL))
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{
		AccessToken: resp.GetAccessToken(), TokenType: resp.GetTokenType(), ExpiresIn: s.cfg.AccessTokenTTL,
		Scope: strings.Join(ar.GetGrantedScopes(), " "),
	}, nil
}
