package account

import (
	"context"
	"errors"
	"strings"
	"time"

	"portico/internal/platform/apperr"
)

// Errors of user management, by stable code.
var (
	ErrWrongPassword = apperr.Invalid("current_password", "wrong_password", "That is not your current password.")
	ErrSamePassword  = apperr.Invalid("new_password", "same_password", "Choose a password different from the current one.")
)

// UserChange is what an admin may change about a user of their organisation
// (PATCH /api/v1/users/{id}); absent fields stay as they are.
type UserChange struct {
	Name     *string `json:"name"`
	Role     *Role   `json:"role"`
	Disabled *bool   `json:"disabled"`
	// Password sets a new password, e.g. for a user who lost theirs.
	Password *string `json:"password"`
}

// UpdateUser changes a user of the actor's organisation; admins only (other
// users are told the user does not exist, as for reading one). The last
// active admin cannot be demoted or disabled. Disabling a user or setting
// their password ends their sessions and personal access tokens.
func (s *Service) UpdateUser(ctx context.Context, actor Principal, id string, in UserChange) (User, error) {
	if !actor.Is(RoleAdmin) {
		if actor.UserID == id {
			return User{}, apperr.Forbidden("forbidden", "Only admins change users; change your password at POST /api/v1/me/password.")
		}
		return User{}, ErrUserNotFound
	}
	cols := map[string]any{}
	detail := map[string]any{}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if len(name) > 100 {
			return User{}, apperr.Invalid("name", "invalid_name", "Names are at most 100 characters.")
		}
		cols["name"], detail["name"] = name, name
	}
	if in.Role != nil {
		if !in.Role.Valid() {
			return User{}, apperr.Invalid("role", "invalid_role", "role must be admin, publisher or developer.")
		}
		cols["role"], detail["role"] = *in.Role, *in.Role
	}
	if in.Disabled != nil {
		cols["disabled"], detail["disabled"] = *in.Disabled, *in.Disabled
	}
	if in.Password != nil {
		if err := checkPassword(*in.Password); err != nil {
			return User{}, err
		}
		hash, err := HashPassword(*in.Password)
		if err != nil {
			return User{}, err
		}
		cols["password_hash"], detail["password"] = hash, "set"
	}
	if len(cols) == 0 {
		return User{}, apperr.Invalid("", "nothing_to_change", "Send at least one of name, role, disabled, password.")
	}
	var u User
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.repo.userByID(ctx, actor.OrgID, id); err != nil {
			return err
		}
		stopsBeingAdmin := u.Role == RoleAdmin && !u.Disabled &&
			((in.Role != nil && *in.Role != RoleAdmin) || (in.Disabled != nil && *in.Disabled))
		if stopsBeingAdmin {
			n, err := s.repo.countActiveAdmins(ctx, actor.OrgID)
			if err != nil {
				return err
			}
			if n <= 1 {
				return ErrLastAdmin
			}
		}
		now := s.now()
		cols["updated_at"] = now
		if err := s.repo.updateUser(ctx, u.ID, cols); err != nil {
			return err
		}
		if (in.Disabled != nil && *in.Disabled) || in.Password != nil {
			if err := s.repo.endUserSessions(ctx, u.ID); err != nil {
				return err
			}
		}
		if err := s.Audit(ctx, actor, "user.update", "user", u.ID, detail); err != nil {
			return err
		}
		u, err = s.repo.userByID(ctx, actor.OrgID, id)
		return err
	})
	return u, err
}

// PasswordChange is a signed-in user changing their own password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// ChangePassword sets the actor's own password after checking the current
// one (wrong guesses count toward the log-in throttle). Every session and
// personal access token of the user ends: the browser that made the change
// gets a new session from the caller.
func (s *Service) ChangePassword(ctx context.Context, actor Principal, in PasswordChange) (User, error) {
	if in.CurrentPassword == "" {
		return User{}, apperr.Invalid("current_password", "required", "Enter your current password.")
	}
	if err := checkPassword(in.NewPassword); err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) {
			return User{}, apperr.Invalid("new_password", ae.Code, ae.Message)
		}
		return User{}, err
	}
	u, err := s.repo.userByID(ctx, actor.OrgID, actor.UserID)
	if err != nil {
		return User{}, err
	}
	if s.logins.blocked(u.Email) {
		return User{}, ErrTooManyAttempts
	}
	if len(in.CurrentPassword) > MaxPasswordLen {
		s.logins.fail(u.Email)
		return User{}, ErrWrongPassword
	}
	ok, err := CheckPassword(u.PasswordHash, in.CurrentPassword)
	if err != nil {
		return User{}, err
	}
	if !ok {
		s.logins.fail(u.Email)
		return User{}, ErrWrongPassword
	}
	if in.NewPassword == in.CurrentPassword {
		return User{}, ErrSamePassword
	}
	hash, err := HashPassword(in.NewPassword)
	if err != nil {
		return User{}, err
	}
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.updateUser(ctx, u.ID, map[string]any{"password_hash": hash, "updated_at": s.now()}); err != nil {
			return err
		}
		if err := s.repo.endUserSessions(ctx, u.ID); err != nil {
			return err
		}
		return s.Audit(ctx, actor, "user.password", "user", u.ID, map[string]any{"via": actor.Via})
	})
	return u, err
}

func (r repo) updateUser(ctx context.Context, id string, cols map[string]any) error {
	return wrap("update user", r.st.DB(ctx).Model(&User{}).Where("id = ?", id).Updates(cols).Error)
}

func (r repo) countActiveAdmins(ctx context.Context, orgID string) (int64, error) {
	var n int64
	err := r.st.DB(ctx).Model(&User{}).Where("org_id = ? AND role = ? AND disabled = ?", orgID, RoleAdmin, false).Count(&n).Error
	return n, wrap("count admins", err)
}

// endUserSessions deletes every session and personal access token of a user.
func (r repo) endUserSessions(ctx context.Context, userID string) error {
	if err := r.st.DB(ctx).Where("user_id = ?", userID).Delete(&session{}).Error; err != nil {
		return wrap("end sessions", err)
	}
	return wrap("revoke tokens", r.st.DB(ctx).Where("user_id = ?", userID).Delete(&APIToken{}).Error)
}

// Tokens lists the actor's own personal access tokens that have not expired,
// newest first (the secrets themselves are never stored).
func (s *Service) Tokens(ctx context.Context, actor Principal) ([]APIToken, error) {
	return s.repo.userTokens(ctx, actor.UserID, s.now())
}

// RevokeToken ends one of the actor's own personal access tokens; another
// user's token is not found.
func (s *Service) RevokeToken(ctx context.Context, actor Principal, id string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		n, err := s.repo.deleteUserToken(ctx, actor.UserID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrTokenNotFound
		}
		return s.Audit(ctx, actor, "token.revoke", "user", actor.UserID, map[string]any{"token_id": id})
	})
}

// ErrTokenNotFound answers a revocation of a token that is not the caller's.
var ErrTokenNotFound = apperr.NotFound("token")

// maxListedTokens bounds the token list; tokens expire after TokenTTL.
const maxListedTokens = 200

func (r repo) userTokens(ctx context.Context, userID string, now time.Time) ([]APIToken, error) {
	var ts []APIToken
	err := r.st.DB(ctx).Where("user_id = ? AND expires_at > ?", userID, now).Order("created_at DESC, id DESC").Limit(maxListedTokens).Find(&ts).Error
	return ts, wrap("list tokens", err)
}

func (r repo) deleteUserToken(ctx context.Context, userID, id string) (int64, error) {
	res := r.st.DB(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&APIToken{})
	return res.RowsAffected, wrap("revoke token", res.Error)
}
