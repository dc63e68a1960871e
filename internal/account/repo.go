package account

import (
	"context"
	"fmt"
	"time"

	"portico/internal/store"
)

// repo is the only code of this package that touches GORM.
type repo struct{ st *store.Store }

func (r repo) firstOrg(ctx context.Context) (Organization, error) {
	var o Organization
	err := r.st.DB(ctx).Order("created_at, id").Take(&o).Error
	return o, notFound(err, ErrOrgNotFound)
}

func (r repo) orgBySlug(ctx context.Context, slug string) (Organization, error) {
	var o Organization
	err := r.st.DB(ctx).Where("slug = ?", slug).Take(&o).Error
	return o, notFound(err, ErrOrgNotFound)
}

func (r repo) orgByID(ctx context.Context, id string) (Organization, error) {
	var o Organization
	err := r.st.DB(ctx).Where("id = ?", id).Take(&o).Error
	return o, notFound(err, ErrOrgNotFound)
}

func (r repo) createOrg(ctx context.Context, o *Organization) error {
	err := r.st.DB(ctx).Create(o).Error
	if store.IsUniqueViolation(err) {
		return ErrSlugTaken
	}
	return wrap("create organisation", err)
}

func (r repo) countUsers(ctx context.Context) (int64, error) {
	var n int64
	err := r.st.DB(ctx).Model(&User{}).Count(&n).Error
	return n, wrap("count users", err)
}

func (r repo) createUser(ctx context.Context, u *User) error {
	err := r.st.DB(ctx).Create(u).Error
	if store.IsUniqueViolation(err) {
		return ErrEmailTaken.WithField("email")
	}
	return wrap("create user", err)
}

func (r repo) userByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := r.st.DB(ctx).Where("email = ?", email).Take(&u).Error
	return u, notFound(err, ErrUserNotFound)
}

func (r repo) userByID(ctx context.Context, orgID, id string) (User, error) {
	var u User
	err := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&u).Error
	return u, notFound(err, ErrUserNotFound)
}

func (r repo) listUsers(ctx context.Context, orgID, after string, limit int) ([]User, error) {
	var us []User
	q := r.st.DB(ctx).Where("org_id = ?", orgID)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Order("id").Limit(limit).Find(&us).Error
	return us, wrap("list users", err)
}

func (r repo) touchLogin(ctx context.Context, userID string, at time.Time) error {
	return wrap("record login", r.st.DB(ctx).Model(&User{}).Where("id = ?", userID).Update("last_login_at", at).Error)
}

func (r repo) createSession(ctx context.Context, s *session) error {
	return wrap("create session", r.st.DB(ctx).Create(s).Error)
}

// sessionUser returns the live session with hash and its enabled user.
func (r repo) sessionUser(ctx context.Context, hash string, now time.Time) (session, User, error) {
	var s session
	err := r.st.DB(ctx).Where("id_hash = ? AND expires_at > ?", hash, now).Take(&s).Error
	if err != nil {
		return s, User{}, notFound(err, ErrUnauthenticated)
	}
	var u User
	err = r.st.DB(ctx).Where("id = ? AND disabled = ?", s.UserID, false).Take(&u).Error
	return s, u, notFound(err, ErrUnauthenticated)
}

func (r repo) touchSession(ctx context.Context, hash string, seen, expires time.Time) error {
	return wrap("touch session", r.st.DB(ctx).Model(&session{}).Where("id_hash = ?", hash).
		Updates(map[string]any{"last_seen_at": seen, "expires_at": expires}).Error)
}

func (r repo) deleteSession(ctx context.Context, hash string) error {
	return wrap("delete session", r.st.DB(ctx).Where("id_hash = ?", hash).Delete(&session{}).Error)
}

func (r repo) createToken(ctx context.Context, t *APIToken) error {
	return wrap("create token", r.st.DB(ctx).Create(t).Error)
}

func (r repo) tokenUser(ctx context.Context, hash string, now time.Time) (APIToken, User, error) {
	var t APIToken
	err := r.st.DB(ctx).Where("token_hash = ? AND expires_at > ?", hash, now).Take(&t).Error
	if err != nil {
		return t, User{}, notFound(err, ErrBadToken)
	}
	var u User
	err = r.st.DB(ctx).Where("id = ? AND disabled = ?", t.UserID, false).Take(&u).Error
	return t, u, notFound(err, ErrBadToken)
}

func (r repo) touchToken(ctx context.Context, id string, at time.Time) error {
	return wrap("touch token", r.st.DB(ctx).Model(&APIToken{}).Where("id = ?", id).Update("last_used_at", at).Error)
}

// deleteExpired removes up to batch expired sessions and tokens; it returns how
// many went, so the janitor can loop until a pass removes fewer than batch.
func (r repo) deleteExpired(ctx context.Context, now time.Time, batch int) (int64, error) {
	var n int64
	for _, m := range []struct {
		model any
		table string
		key   string
	}{{&session{}, "sessions", "id_hash"}, {&APIToken{}, "api_tokens", "id"}, {&passwordReset{}, "password_resets", "token_hash"}} {
		sub := r.st.DB(ctx).Table(m.table).Select(m.key).Where("expires_at <= ?", now).Limit(batch)
		res := r.st.DB(ctx).Where(m.key+" IN (?)", sub).Delete(m.model)
		if res.Error != nil {
			return n, wrap("delete expired "+m.table, res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}

func (r repo) audit(ctx context.Context, e *AuditEvent) error {
	return wrap("write audit event", r.st.DB(ctx).Create(e).Error)
}

func notFound(err error, nf error) error {
	if err == nil {
		return nil
	}
	if store.IsNotFound(err) {
		return nf
	}
	return fmt.Errorf("account: %w", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("account: %s: %w", what, err)
}

func (r repo) history(ctx context.Context, orgID, objectType, objectID string, limit int) ([]AuditEvent, error) {
	var es []AuditEvent
	err := r.st.DB(ctx).Where("org_id = ? AND object_type = ? AND object_id = ?", orgID, objectType, objectID).
		Order("created_at DESC, id DESC").Limit(limit).Find(&es).Error
	return es, wrap("read audit events", err)
}
