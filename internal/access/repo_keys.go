package access

import (
	"context"
	"time"

	"portico/internal/store"
)

// API keys and subscriptions: the rest of the access module's repository.

func (r repo) countKeys(ctx context.Context, appID string) (int64, error) {
	var n int64
	err := r.st.DB(ctx).Model(&APIKey{}).Where("application_id = ?", appID).Count(&n).Error
	return n, wrap("count keys", err)
}

func (r repo) createKey(ctx context.Context, k *APIKey) error {
	return wrap("create key", r.st.DB(ctx).Create(k).Error)
}

func (r repo) keys(ctx context.Context, appID string) ([]APIKey, error) {
	var ks []APIKey
	err := r.st.DB(ctx).Where("application_id = ?", appID).Order("id").Find(&ks).Error
	return ks, wrap("list keys", err)
}

func (r repo) deleteKey(ctx context.Context, appID, id string) error {
	res := r.st.DB(ctx).Where("application_id = ? AND id = ?", appID, id).Delete(&APIKey{})
	if res.Error != nil {
		return wrap("delete key", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrKeyNotFound
	}
	return nil
}

func (r repo) createSubscription(ctx context.Context, s *Subscription) error {
	err := r.st.DB(ctx).Create(s).Error
	if store.IsUniqueViolation(err) {
		return ErrAlreadySubscribed
	}
	return wrap("create subscription", err)
}

// ownedBy narrows a subscription query to one developer's applications.
func ownedBy(ownerID string) string {
	if ownerID == "" {
		return ""
	}
	return "application_id IN (SELECT id FROM applications WHERE owner_id = ?)"
}

func (r repo) subscription(ctx context.Context, orgID, ownerID, id string) (Subscription, error) {
	var s Subscription
	q := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id)
	if c := ownedBy(ownerID); c != "" {
		q = q.Where(c, ownerID)
	}
	err := q.Take(&s).Error
	if store.IsNotFound(err) {
		return s, ErrSubscriptionNotFound
	}
	return s, wrap("read subscription", err)
}

func (r repo) subscriptions(ctx context.Context, orgID, ownerID string, f SubscriptionQuery) ([]Subscription, error) {
	var ss []Subscription
	q := r.st.DB(ctx).Where("org_id = ?", orgID)
	if c := ownedBy(ownerID); c != "" {
		q = q.Where(c, ownerID)
	}
	if f.ApplicationID != "" {
		q = q.Where("application_id = ?", f.ApplicationID)
	}
	if f.APIID != "" {
		q = q.Where("api_id = ?", f.APIID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	err := q.Order("id").Find(&ss).Error
	return ss, wrap("list subscriptions", err)
}

func (r repo) deleteSubscription(ctx context.Context, id string) error {
	return wrap("delete subscription", r.st.DB(ctx).Where("id = ?", id).Delete(&Subscription{}).Error)
}

func (r repo) setSubscriptionStatus(ctx context.Context, id, status string, at time.Time) error {
	return wrap("update subscription", r.st.DB(ctx).Model(&Subscription{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "updated_at": at}).Error)
}

func (r repo) moveSubscriptions(ctx context.Context, orgID string, ids []string, from, to string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return wrap("update subscriptions", r.st.DB(ctx).Model(&Subscription{}).
		Where("org_id = ? AND status = ? AND id IN ?", orgID, from, ids).
		Updates(map[string]any{"status": to, "updated_at": at}).Error)
}

// gatewayRows reads everything the gateway needs from this module.
func (r repo) gatewayRows(ctx context.Context, now time.Time) ([]Application, []APIKey, []Subscription, error) {
	var apps []Application
	if err := r.st.DB(ctx).Select("id", "org_id", "client_id", "tier").Find(&apps).Error; err != nil {
		return nil, nil, nil, wrap("read applications", err)
	}
	var keys []APIKey
	if err := r.st.DB(ctx).Select("key_hash", "application_id", "expires_at").
		Where("expires_at IS NULL OR expires_at > ?", now).Find(&keys).Error; err != nil {
		return nil, nil, nil, wrap("read keys", err)
	}
	var subs []Subscription
	if err := r.st.DB(ctx).Select("id", "application_id", "api_id", "tier", "status").Find(&subs).Error; err != nil {
		return nil, nil, nil, wrap("read subscriptions", err)
	}
	return apps, keys, subs, nil
}
