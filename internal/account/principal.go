package account

import (
	"context"
	"slices"

	"portico/internal/platform/apperr"
)

// Principal is who is making a request: a signed-in user, by session or token.
type Principal struct {
	UserID string
	OrgID  string
	Email  string
	Role   Role
	// Via is "session" or "token": sessions need CSRF tokens on unsafe methods.
	Via string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Is reports whether the principal holds one of roles.
func (p Principal) Is(roles ...Role) bool { return slices.Contains(roles, p.Role) }

// Require returns a forbidden error unless the principal holds one of roles.
func (p Principal) Require(roles ...Role) error {
	if p.Is(roles...) {
		return nil
	}
	return ErrForbidden
}

// Errors users see, by stable code.
var (
	ErrForbidden          = apperr.Forbidden("forbidden", "Your role does not allow this.")
	ErrInvalidCredentials = apperr.Unauthenticated("invalid_credentials", "The e-mail address or password is wrong.")
	ErrUnauthenticated    = apperr.Unauthenticated("unauthenticated", "Log in, or send a token in the Authorization header (Bearer).")
	ErrBadToken           = apperr.Unauthenticated("invalid_token", "The token is unknown, expired or revoked; create a new one with POST /api/v1/tokens.")
	ErrEmailTaken         = apperr.Conflict("email_taken", "An account with that e-mail address already exists.")
	ErrSignupDisabled     = apperr.Forbidden("signup_disabled", "This organisation does not allow self sign-up; ask an administrator for an account.")
	ErrOrgNotFound        = apperr.NotFound("organisation")
	ErrUserNotFound       = apperr.NotFound("user")
	ErrSlugTaken          = apperr.Conflict("slug_taken", "That organisation slug is taken.")
	ErrLastAdmin          = apperr.Conflict("last_admin", "An organisation needs at least one active admin: make another user admin first.")
)
