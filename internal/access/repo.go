package access

import (
	"context"
	"fmt"

	"portico/internal/store"
)

// repo is the only code of this package that touches GORM.
type repo struct{ st *store.Store }

func (r repo) create(ctx context.Context, a *Application) error {
	err := r.st.DB(ctx).Create(a).Error
	if store.IsUniqueViolation(err) {
		return ErrNameTaken
	}
	return wrap("create application", err)
}

// byID finds an application of org; ownerID, when not empty, narrows it to that
// owner's (a developer sees only their own).
func (r repo) byID(ctx context.Context, orgID, ownerID, id string) (Application, error) {
	var a Application
	q := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id)
	if ownerID != "" {
		q = q.Where("owner_id = ?", ownerID)
	}
	err := q.Take(&a).Error
	return a, notFound(err)
}

func (r repo) byClientID(ctx context.Context, clientID string) (Application, error) {
	var a Application
	err := r.st.DB(ctx).Where("client_id = ?", clientID).Take(&a).Error
	return a, notFound(err)
}

func (r repo) list(ctx context.Context, orgID, ownerID, after string, limit int) ([]Application, error) {
	var as []Application
	q := r.st.DB(ctx).Where("org_id = ?", orgID)
	if ownerID != "" {
		q = q.Where("owner_id = ?", ownerID)
	}
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Order("id").Limit(limit).Find(&as).Error
	return as, wrap("list applications", err)
}

func (r repo) delete(ctx context.Context, orgID, id string) error {
	res := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Delete(&Application{})
	if res.Error != nil {
		return wrap("delete application", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

func (r repo) setSecretHash(ctx context.Context, orgID, id, hash string, at any) error {
	res := r.st.DB(ctx).Model(&Application{}).Where("org_id = ? AND id = ?", orgID, id).
		Updates(map[string]any{"client_secret_hash": hash, "updated_at": at})
	if res.Error != nil {
		return wrap("store client secret", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

func notFound(err error) error {
	if err == nil {
		return nil
	}
	if store.IsNotFound(err) {
		return ErrNotFound
	}
	return fmt.Errorf("access: %w", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("access: %s: %w", what, err)
}
