package heroku

import (
	"context"
	"errors"
	"fmt"
	"time"

	"portico/internal/store"
	"portico/internal/store/outbox"

	"gorm.io/gorm/clause"
)

// repo is the only code of this package that touches GORM.
type repo struct{ st *store.Store }

var (
	errResourceExists = errors.New("heroku: resource exists")
	errNoResource     = errors.New("heroku: no such resource")
	errNoMapping      = errors.New("heroku: no SSO mapping")
	errReplayed       = errors.New("heroku: SSO token already used")
)

func (r repo) createResource(ctx context.Context, res *Resource) error {
	err := r.st.DB(ctx).Create(res).Error
	if store.IsUniqueViolation(err) {
		return errResourceExists
	}
	return wrap("create resource", err)
}

func (r repo) resource(ctx context.Context, uuid string) (Resource, error) {
	var res Resource
	err := r.st.DB(ctx).Where("uuid = ?", uuid).Take(&res).Error
	return res, notFound(err, errNoResource)
}

// updateResource writes the given columns of the resource.
func (r repo) updateResource(ctx context.Context, uuid string, cols map[string]any) error {
	return wrap("update resource", r.st.DB(ctx).Model(&Resource{}).Where("uuid = ?", uuid).Updates(cols).Error)
}

func (r repo) createJob(ctx context.Context, j *job) error {
	return wrap("create job", r.st.DB(ctx).Create(j).Error)
}

// cancelJobs ends a resource's pending jobs.
func (r repo) cancelJobs(ctx context.Context, uuid string, now time.Time) error {
	return wrap("cancel jobs", r.st.DB(ctx).Model(&job{}).Where("resource_uuid = ? AND state = ?", uuid, outbox.Pending).
		Updates(map[string]any{"state": outbox.Cancelled, "locked_until": nil, "updated_at": now}).Error)
}

func (r repo) ssoUser(ctx context.Context, uuid, herokuUser string) (ssoUser, error) {
	var m ssoUser
	err := r.st.DB(ctx).Where("resource_uuid = ? AND heroku_user = ?", uuid, herokuUser).Take(&m).Error
	return m, notFound(err, errNoMapping)
}

func (r repo) createSSOUser(ctx context.Context, m *ssoUser) error {
	return wrap("create SSO user", r.st.DB(ctx).Create(m).Error)
}

// useToken records a used SSO token; a second use is errReplayed.
func (r repo) useToken(ctx context.Context, hash string, expires time.Time) error {
	err := r.st.DB(ctx).Create(&ssoReplay{TokenHash: hash, ExpiresAt: expires}).Error
	if store.IsUniqueViolation(err) {
		return errReplayed
	}
	return wrap("record SSO token", err)
}

// markToken records a used SSO token, and is content when it was recorded
// already.
func (r repo) markToken(ctx context.Context, hash string, expires time.Time) error {
	err := r.st.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&ssoReplay{TokenHash: hash, ExpiresAt: expires}).Error
	return wrap("record SSO token", err)
}

func (r repo) purgeReplays(ctx context.Context, now time.Time) error {
	return wrap("purge SSO tokens", r.st.DB(ctx).Where("expires_at < ?", now).Delete(&ssoReplay{}).Error)
}

func notFound(err, nf error) error {
	if err == nil {
		return nil
	}
	if store.IsNotFound(err) {
		return nf
	}
	return fmt.Errorf("heroku: %w", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("heroku: %s: %w", what, err)
}
