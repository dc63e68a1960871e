package access

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/platform/apperr"
)

// Subscription statuses.
const (
	StatusActive    = "ACTIVE"
	StatusPending   = "PENDING"
	StatusRejected  = "REJECTED"
	StatusBlocked   = "BLOCKED"
	StatusSuspended = "SUSPENDED"
)

// Subscription lets one application call one API on one tier.
type Subscription struct {
	ID            string `gorm:"primaryKey"`
	OrgID         string
	ApplicationID string
	APIID         string `gorm:"column:api_id"`
	Tier          string
	Status        string
	CreatedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName pins the table name.
func (Subscription) TableName() string { return "subscriptions" }

// Errors users see, by stable code.
var (
	ErrSubscriptionNotFound = apperr.NotFound("subscription")
	ErrAlreadySubscribed    = apperr.Conflict("already_subscribed", "This application is already subscribed to this API; change or remove that subscription instead.")
)

// PaymentGate decides whether a subscription on a paid tier may start. Billing
// implements it; without billing, paid tiers cannot be subscribed.
type PaymentGate interface {
	// StartPaid is called inside the subscription's transaction, before commit.
	// It may set sub.Status to PENDING: a paid subscription is not served until
	// its payment is set up, not even for the moment before a worker runs.
	StartPaid(ctx context.Context, actor account.Principal, sub *Subscription, tier catalog.Tier) error
	// HoldOnApproval is called inside the transaction that approves a pending
	// subscription. It reports whether the subscription must stay PENDING
	// because its payment is not set up yet (billing then releases it when
	// Stripe says it is paid).
	HoldOnApproval(ctx context.Context, subscriptionID string) (bool, error)
}

// NewSubscription is a subscribe request.
type NewSubscription struct {
	ApplicationID string `json:"application_id"`
	APIID         string `json:"api_id"`
	Tier          string `json:"tier"`
}

// Subscribe subscribes one of the caller's applications to an API on a tier the
// API allows. APIs that wait for approval start PENDING.
func (s *Service) Subscribe(ctx context.Context, actor account.Principal, in NewSubscription) (Subscription, error) {
	if strings.TrimSpace(in.ApplicationID) == "" {
		return Subscription{}, apperr.Invalid("application_id", "missing_application", "Name the application to subscribe (application_id).")
	}
	if strings.TrimSpace(in.APIID) == "" {
		return Subscription{}, apperr.Invalid("api_id", "missing_api", "Name the API to subscribe to (api_id).")
	}
	if strings.TrimSpace(in.Tier) == "" {
		return Subscription{}, apperr.Invalid("tier", "missing_tier", "Choose a tier (tier), e.g. Bronze.")
	}
	if s.catalog == nil {
		return Subscription{}, errors.New("access: no catalog wired")
	}
	var sub Subscription
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		app, err := s.repo.byID(ctx, actor.OrgID, scope(actor), in.ApplicationID)
		if err != nil {
			return apperr.NotFound("application").WithField("application_id")
		}
		api, err := s.catalog.API(ctx, actor, in.APIID)
		if err != nil {
			if apperr.IsKind(err, apperr.KindNotFound) {
				return apperr.NotFound("API").WithField("api_id")
			}
			return err
		}
		switch api.State {
		case catalog.StatePublished:
		case catalog.StatePrototyped:
			return apperr.Conflict("api_prototype", "This API is a prototype: try it without a subscription; subscribe once it is published.").WithField("api_id")
		case catalog.StateDeprecated:
			return apperr.Conflict("api_deprecated", "This API is deprecated and takes no new subscriptions; use its newer version.").WithField("api_id")
		default:
			return apperr.Conflict("api_not_published", "This API is not published, so it cannot be subscribed to.").WithField("api_id")
		}
		if !slices.Contains(api.TierList(), in.Tier) {
			return apperr.Invalid("tier", "tier_not_allowed", "This API does not offer the tier "+in.Tier+"; choose one of: "+strings.Join(api.TierList(), ", ")+".")
		}
		tier, err := s.catalog.TierByName(ctx, api.OrgID, in.Tier)
		if err != nil {
			return apperr.Invalid("tier", "unknown_tier", "There is no tier called "+in.Tier+".")
		}
		now := s.now()
		sub = Subscription{ID: account.NewID(), OrgID: app.OrgID, ApplicationID: app.ID, APIID: api.ID, Tier: tier.Name,
			Status: StatusActive, CreatedBy: actor.UserID, CreatedAt: now, UpdatedAt: now}
		if api.Approval == "manual" {
			sub.Status = StatusPending
		}
		if tier.Paid() {
			if s.payments == nil {
				return apperr.Conflict("billing_unavailable", "The tier "+tier.Name+" is paid, and billing is not set up on this installation; choose a free tier.").WithField("tier")
			}
			if err := s.payments.StartPaid(ctx, actor, &sub, tier); err != nil {
				return err
			}
		}
		if err := s.repo.createSubscription(ctx, &sub); err != nil {
			return err
		}
		if err := s.accounts.Audit(ctx, actor, "subscription.create", "subscription", sub.ID,
			map[string]any{"application_id": app.ID, "api_id": api.ID, "tier": sub.Tier, "status": sub.Status}); err != nil {
			return err
		}
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
	return sub, err
}

// Subscription returns one subscription the caller may see: developers their
// applications', publishers and admins their organisation's.
func (s *Service) Subscription(ctx context.Context, actor account.Principal, id string) (Subscription, error) {
	return s.repo.subscription(ctx, actor.OrgID, subScope(actor), id)
}

// subScope is the owner filter for subscriptions: publishers and admins see
// (and moderate) their organisation's; developers only their applications'.
func subScope(actor account.Principal) string {
	if actor.Is(account.RoleAdmin, account.RolePublisher) {
		return ""
	}
	return actor.UserID
}

// SubscriptionQuery filters Subscriptions.
type SubscriptionQuery struct {
	ApplicationID, APIID, Status string
	After                        string
	Limit                        int
}

// Subscriptions lists the subscriptions the caller may see.
func (s *Service) Subscriptions(ctx context.Context, actor account.Principal, q SubscriptionQuery) ([]Subscription, error) {
	return s.repo.subscriptions(ctx, actor.OrgID, subScope(actor), q)
}

// Unsubscribe removes a subscription: its application's owner or a publisher.
func (s *Service) Unsubscribe(ctx context.Context, actor account.Principal, id string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		sub, err := s.repo.subscription(ctx, actor.OrgID, subScope(actor), id)
		if err != nil {
			return err
		}
		if err := s.repo.deleteSubscription(ctx, sub.ID); err != nil {
			return err
		}
		if err := s.accounts.Audit(ctx, actor, "subscription.delete", "subscription", sub.ID, map[string]any{"api_id": sub.APIID}); err != nil {
			return err
		}
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
}

// legal publisher moves: from → action → to.
var moves = map[string]map[string]string{
	"approve": {StatusPending: StatusActive},
	"reject":  {StatusPending: StatusRejected},
	"block":   {StatusActive: StatusBlocked},
	"unblock": {StatusBlocked: StatusActive},
}

// Moderate approves, rejects, blocks or unblocks a subscription; publishers and
// admins only. An illegal move (approving an active one) is a conflict.
func (s *Service) Moderate(ctx context.Context, actor account.Principal, id, action string) (Subscription, error) {
	if err := actor.Require(account.RoleAdmin, account.RolePublisher); err != nil {
		return Subscription{}, err
	}
	from, ok := moves[action]
	if !ok {
		return Subscription{}, apperr.Invalid("action", "invalid_action", "action must be approve, reject, block or unblock.")
	}
	var sub Subscription
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		sub, err = s.repo.subscription(ctx, actor.OrgID, "", id)
		if err != nil {
			return err
		}
		to, ok := from[sub.Status]
		if !ok {
			return apperr.Conflict("illegal_move", "A "+strings.ToLower(sub.Status)+" subscription cannot be "+pastTense(action)+".")
		}
		if action == "approve" && s.payments != nil {
			held, err := s.payments.HoldOnApproval(ctx, sub.ID)
			if err != nil {
				return err
			}
			if held { // approved, and served once Stripe says it is paid
				to = StatusPending
			}
		}
		sub.Status, sub.UpdatedAt = to, s.now()
		if err := s.repo.setSubscriptionStatus(ctx, sub.ID, to, sub.UpdatedAt); err != nil {
			return err
		}
		if err := s.accounts.Audit(ctx, actor, "subscription."+action, "subscription", sub.ID, map[string]any{"status": to}); err != nil {
			return err
		}
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
	return sub, err
}

func pastTense(action string) string {
	switch action {
	case "approve":
		return "approved"
	case "reject":
		return "rejected"
	case "block":
		return "blocked"
	}
	return "unblocked"
}

// SetSuspended suspends or restores every paid subscription of an organisation's
// applications (billing calls it on a failed or a settled payment).
func (s *Service) SetSuspended(ctx context.Context, orgID string, ids []string, suspended bool) error {
	from, to := StatusActive, StatusSuspended
	if !suspended {
		from, to = StatusSuspended, StatusActive
	}
	return s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.moveSubscriptions(ctx, orgID, ids, from, to, s.now()); err != nil {
			return err
		}
		_, err := s.st.BumpConfigVersion(ctx)
		return err
	})
}
