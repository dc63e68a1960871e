package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"portico/internal/store"
)

// repo is the only code of this package that touches GORM.
type repo struct{ st *store.Store }

var (
	errNoSubscription = errors.New("billing: no such billing subscription")
	errNoCustomer     = errors.New("billing: no Stripe customer")
	errNoTierPrice    = errors.New("billing: no prices for the tier")
	errReplayed       = errors.New("billing: webhook event already handled")
)

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("billing: %s: %w", what, err)
}

func notFound(err, nf error) error {
	if err == nil {
		return nil
	}
	if store.IsNotFound(err) {
		return nf
	}
	return fmt.Errorf("billing: %w", err)
}

// ensureTierPrice adds the tier's row unless it is there.
func (r repo) ensureTierPrice(ctx context.Context, t *tierPrice) error {
	return wrap("record tier", r.st.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(t).Error)
}

func (r repo) tierPrice(ctx context.Context, tierID string) (tierPrice, error) {
	var t tierPrice
	err := r.st.DB(ctx).Where("tier_id = ?", tierID).Take(&t).Error
	return t, notFound(err, errNoTierPrice)
}

func (r repo) updateTierPrice(ctx context.Context, tierID string, cols map[string]any) error {
	return wrap("update tier", r.st.DB(ctx).Model(&tierPrice{}).Where("tier_id = ?", tierID).Updates(cols).Error)
}

func (r repo) customer(ctx context.Context, orgID string) (customer, error) {
	var c customer
	err := r.st.DB(ctx).Where("org_id = ?", orgID).Take(&c).Error
	return c, notFound(err, errNoCustomer)
}

func (r repo) customerByStripeID(ctx context.Context, id string) (customer, error) {
	var c customer
	err := r.st.DB(ctx).Where("customer_id = ?", id).Take(&c).Error
	return c, notFound(err, errNoCustomer)
}

// createCustomer records the organisation's customer; when another worker
// recorded one first, that one is kept and returned.
func (r repo) createCustomer(ctx context.Context, c customer) (customer, error) {
	if err := r.st.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
		return customer{}, wrap("record customer", err)
	}
	return r.customer(ctx, c.OrgID)
}

func (r repo) createSubscription(ctx context.Context, s *Subscription) error {
	return wrap("record subscription", r.st.DB(ctx).Create(s).Error)
}

func (r repo) subscription(ctx context.Context, id string) (Subscription, error) {
	var s Subscription
	err := r.st.DB(ctx).Where("subscription_id = ?", id).Take(&s).Error
	return s, notFound(err, errNoSubscription)
}

func (r repo) subscriptionByStripeID(ctx context.Context, id string) (Subscription, error) {
	var s Subscription
	if id == "" {
		return s, errNoSubscription
	}
	err := r.st.DB(ctx).Where("stripe_subscription_id = ?", id).Take(&s).Error
	return s, notFound(err, errNoSubscription)
}

func (r repo) updateSubscription(ctx context.Context, id string, cols map[string]any) error {
	return wrap("update subscription", r.st.DB(ctx).Model(&Subscription{}).Where("subscription_id = ?", id).Updates(cols).Error)
}

// subscriptionsIn lists the subscriptions in one of states; orgID, when not
// empty, narrows them to one organisation.
func (r repo) subscriptionsIn(ctx context.Context, orgID string, states ...string) ([]Subscription, error) {
	var ss []Subscription
	q := r.st.DB(ctx).Where("state IN ?", states)
	if orgID != "" {
		q = q.Where("org_id = ?", orgID)
	}
	err := q.Order("subscription_id").Find(&ss).Error
	return ss, wrap("list subscriptions", err)
}

// meteredSubscriptions lists the subscriptions whose calls are reported.
func (r repo) meteredSubscriptions(ctx context.Context) ([]Subscription, error) {
	var ss []Subscription
	err := r.st.DB(ctx).Where("state IN ? AND meter_event_name <> ''", []string{StateActive, StateCanceling, StateCanceled}).
		Order("subscription_id").Find(&ss).Error
	return ss, wrap("list metered subscriptions", err)
}

func (r repo) createJob(ctx context.Context, j *job) error {
	return wrap("create job", r.st.DB(ctx).Create(j).Error)
}

// recordEvent notes a webhook event as handled; a second time is errReplayed.
func (r repo) recordEvent(ctx context.Context, e event) error {
	err := r.st.DB(ctx).Create(&e).Error
	if store.IsUniqueViolation(err) {
		return errReplayed
	}
	return wrap("record event", err)
}

func (r repo) eventSeen(ctx context.Context, id string) (bool, error) {
	var n int64
	err := r.st.DB(ctx).Model(&event{}).Where("event_id = ?", id).Count(&n).Error
	return n > 0, wrap("read event", err)
}

// createReport writes an hour's report; it reports false when the hour was
// reported already (another node got there first).
func (r repo) createReport(ctx context.Context, u *usageReport) (bool, error) {
	err := r.st.DB(ctx).Create(u).Error
	if store.IsUniqueViolation(err) {
		return false, nil
	}
	return err == nil, wrap("record usage report", err)
}

// advanceUsage moves the high-water mark from from to to; false when another
// node moved it first.
func (r repo) advanceUsage(ctx context.Context, id string, from, to, now time.Time) (bool, error) {
	res := r.st.DB(ctx).Model(&Subscription{}).Where("subscription_id = ? AND usage_from = ?", id, from).
		Updates(map[string]any{"usage_from": to, "updated_at": now})
	return res.RowsAffected == 1, wrap("advance usage mark", res.Error)
}

func (r repo) pendingReports(ctx context.Context, limit int) ([]usageReport, error) {
	var us []usageReport
	err := r.st.DB(ctx).Where("state = ?", reportPending).Order("hour, subscription_id").Limit(limit).Find(&us).Error
	return us, wrap("list pending usage reports", err)
}

func (r repo) markReport(ctx context.Context, u usageReport, cols map[string]any) error {
	return wrap("update usage report", r.st.DB(ctx).Model(&usageReport{}).
		Where("subscription_id = ? AND hour = ?", u.SubscriptionID, u.Hour).Updates(cols).Error)
}
