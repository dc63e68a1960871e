package access

import (
	"context"
	"time"
)

// What billing needs from subscriptions beyond SetSuspended: holding a paid
// subscription until Stripe says it is paid for, and learning which
// subscriptions still exist (unsubscribing cancels the Stripe subscription).
// These are system calls made by billing's worker and webhook handler, not by
// a signed-in user, so they take no principal.

// HoldForPayment moves a subscription from ACTIVE to PENDING while its first
// payment is set up. It reports whether the subscription was moved (false when
// it is gone or not ACTIVE). Every move bumps the config version.
func (s *Service) HoldForPayment(ctx context.Context, id string) (bool, error) {
	return s.movePaid(ctx, id, StatusActive, StatusPending)
}

// ReleasePaymentHold moves a subscription held by HoldForPayment back to
// ACTIVE once Stripe says its subscription is active.
func (s *Service) ReleasePaymentHold(ctx context.Context, id string) (bool, error) {
	return s.movePaid(ctx, id, StatusPending, StatusActive)
}

func (s *Service) movePaid(ctx context.Context, id, from, to string) (bool, error) {
	var moved bool
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		n, err := s.repo.moveSubscription(ctx, id, from, to, s.now())
		if err != nil || n == 0 {
			return err
		}
		moved = true
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
	return moved, err
}

// SubscriptionStatuses returns the status of each of ids that still exists.
func (s *Service) SubscriptionStatuses(ctx context.Context, ids []string) (map[string]string, error) {
	return s.repo.subscriptionStatuses(ctx, ids)
}

func (r repo) moveSubscription(ctx context.Context, id, from, to string, at time.Time) (int64, error) {
	res := r.st.DB(ctx).Model(&Subscription{}).Where("id = ? AND status = ?", id, from).
		Updates(map[string]any{"status": to, "updated_at": at})
	return res.RowsAffected, wrap("update subscription", res.Error)
}

func (r repo) subscriptionStatuses(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Subscription
	if err := r.st.DB(ctx).Select("id", "status").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, wrap("read subscriptions", err)
	}
	for _, s := range rows {
		out[s.ID] = s.Status
	}
	return out, nil
}
