package account

import (
	"context"
	"time"
)

// SuspendOrg disables every user of the organisation, which ends their
// sessions and personal access tokens at once (both are honoured only for
// enabled users). The Heroku add-on calls it when a resource is deprovisioned.
// actor must be an admin of that organisation.
func (s *Service) SuspendOrg(ctx context.Context, actor Principal, orgID string) error {
	if actor.OrgID != orgID {
		return ErrOrgNotFound
	}
	if err := actor.Require(RoleAdmin); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(ctx context.Context) error {
		n, err := s.repo.disableOrgUsers(ctx, orgID, s.now())
		if err != nil {
			return err
		}
		return s.Audit(ctx, actor, "org.suspend", "organization", orgID, map[string]any{"users_disabled": n})
	})
}

func (r repo) disableOrgUsers(ctx context.Context, orgID string, now time.Time) (int64, error) {
	res := r.st.DB(ctx).Model(&User{}).Where("org_id = ? AND disabled = ?", orgID, false).
		Updates(map[string]any{"disabled": true, "updated_at": now})
	return res.RowsAffected, wrap("disable users", res.Error)
}
