package access

import (
	"context"
	"time"

	"portico/internal/store"
)

// Application changes and subscription details: more of the repository.

func (r repo) update(ctx context.Context, orgID, id string, changed map[string]any) error {
	if cb, ok := changed["callback_urls"].(StringList); ok {
		v, err := cb.Value()
		if err != nil {
			return wrap("encode callback URLs", err)
		}
		changed["callback_urls"] = v
	}
	res := r.st.DB(ctx).Model(&Application{}).Where("org_id = ? AND id = ?", orgID, id).Updates(changed)
	if res.Error != nil {
		if store.IsUniqueViolation(res.Error) {
			return ErrNameTaken
		}
		return wrap("update application", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// detailRow is one row of the subscription details join.
type detailRow struct {
	ID              string
	OrgID           string
	ApplicationID   string
	APIID           string `gorm:"column:api_id"`
	Tier            string
	Status          string
	CreatedBy       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ApplicationName string
	OwnerEmail      string
	APIName         string `gorm:"column:api_name"`
	APIVersion      string `gorm:"column:api_version"`
	APIContext      string `gorm:"column:api_context"`
	APIState        string `gorm:"column:api_state"`
}

func (r repo) subscriptionDetails(ctx context.Context, orgID, ownerID string, f SubscriptionQuery) ([]SubscriptionDetail, error) {
	q := r.st.DB(ctx).Table("subscriptions AS s").
		Select(`s.id, s.org_id, s.application_id, s.api_id, s.tier, s.status, s.created_by, s.created_at, s.updated_at,
			a.name AS application_name, COALESCE(u.email, '') AS owner_email,
			p.name AS api_name, p.version AS api_version, p.context AS api_context, p.state AS api_state`).
		Joins("JOIN applications a ON a.id = s.application_id").
		Joins("JOIN apis p ON p.id = s.api_id").
		Joins("LEFT JOIN users u ON u.id = a.owner_id").
		Where("s.org_id = ?", orgID)
	if ownerID != "" {
		q = q.Where("a.owner_id = ?", ownerID)
	}
	if f.ApplicationID != "" {
		q = q.Where("s.application_id = ?", f.ApplicationID)
	}
	if f.APIID != "" {
		q = q.Where("s.api_id = ?", f.APIID)
	}
	if f.Status != "" {
		q = q.Where("s.status = ?", f.Status)
	}
	if f.After != "" {
		q = q.Where("s.id > ?", f.After)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []detailRow
	if err := q.Order("s.id").Scan(&rows).Error; err != nil {
		return nil, wrap("list subscription details", err)
	}
	out := make([]SubscriptionDetail, len(rows))
	for i, x := range rows {
		out[i] = SubscriptionDetail{
			Subscription: Subscription{ID: x.ID, OrgID: x.OrgID, ApplicationID: x.ApplicationID, APIID: x.APIID, Tier: x.Tier,
				Status: x.Status, CreatedBy: x.CreatedBy, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt},
			ApplicationName: x.ApplicationName, OwnerEmail: x.OwnerEmail,
			APIName: x.APIName, APIVersion: x.APIVersion, APIContext: x.APIContext, APIState: x.APIState,
		}
	}
	return out, nil
}
