package billing

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// ErrBadSignature answers a webhook whose Stripe-Signature does not verify.
var ErrBadSignature = apperr.Invalid("", "invalid_signature", "The Stripe-Signature header does not match this payload and the webhook secret.")

// stripeActor is who the audit log names for changes Stripe asked for.
func stripeActor(orgID string) account.Principal {
	return account.Principal{OrgID: orgID, Email: "stripe-webhook"}
}

// Outcome says what HandleWebhook did with an event.
type Outcome string

// Outcomes of HandleWebhook.
const (
	Handled  Outcome = "handled"
	Replayed Outcome = "replayed" // seen before: ignored
	Ignored  Outcome = "ignored"  // a type billing does not act on, or not about our objects
)

// HandleWebhook verifies and handles one Stripe webhook delivery. A bad
// signature is ErrBadSignature and changes nothing. Each event is handled
// once: its id is stored in the same transaction as its effects, so a
// replayed event is ignored, and a failed one rolls back and is retried by
// Stripe.
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, signature string) (Outcome, error) {
	if s.opts.WebhookSecret == "" || signature == "" {
		return "", ErrBadSignature
	}
	// The payload is read for a few stable fields only, so an endpoint on
	// another API version than stripe-go's (2023-10-16) is accepted.
	ev, err := webhook.ConstructEventWithOptions(payload, signature, s.opts.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
	if err != nil {
		return "", ErrBadSignature
	}
	if ev.ID == "" || ev.Data == nil {
		return "", apperr.Invalid("", "invalid_event", "The event has no id or no data.")
	}
	switch ev.Type {
	case "invoice.paid", "invoice.payment_failed", "customer.subscription.created", "customer.subscription.updated",
		"customer.subscription.deleted", "checkout.session.completed":
	default:
		s.log.DebugContext(ctx, "billing: webhook event ignored", "event_id", ev.ID, "type", ev.Type)
		return Ignored, nil
	}
	if seen, err := s.repo.eventSeen(ctx, ev.ID); err != nil || seen {
		if seen {
			return Replayed, nil
		}
		return "", err
	}
	out := Handled
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.recordEvent(ctx, event{EventID: ev.ID, Type: string(ev.Type), ReceivedAt: s.now()}); err != nil {
			return err
		}
		var err error
		out, err = s.apply(ctx, ev)
		return err
	})
	if errors.Is(err, errReplayed) { // a concurrent delivery of the same event won
		return Replayed, nil
	}
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "billing: webhook event", "event_id", ev.ID, "type", ev.Type, "outcome", out)
	return out, nil
}

// apply makes an event's changes inside the webhook's transaction.
func (s *Service) apply(ctx context.Context, ev stripe.Event) (Outcome, error) {
	switch ev.Type {
	case "invoice.paid", "invoice.payment_failed":
		var inv stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &inv); err != nil {
			return "", apperr.Invalid("", "invalid_event", "The invoice in the event cannot be read.")
		}
		if inv.Customer == nil {
			return Ignored, nil
		}
		c, err := s.repo.customerByStripeID(ctx, inv.Customer.ID)
		if errors.Is(err, errNoCustomer) {
			return Ignored, nil
		}
		if err != nil {
			return "", err
		}
		if ev.Type == "invoice.payment_failed" {
			return Handled, s.suspend(ctx, c.OrgID, ev.ID, true)
		}
		if inv.Subscription != nil {
			if b, err := s.repo.subscriptionByStripeID(ctx, inv.Subscription.ID); err == nil {
				b.StripeStatus = string(stripe.SubscriptionStatusActive)
				if err := s.repo.updateSubscription(ctx, b.SubscriptionID, map[string]any{"stripe_status": b.StripeStatus, "updated_at": s.now()}); err != nil {
					return "", err
				}
				if err := s.releaseIfPaid(ctx, b); err != nil {
					return "", err
				}
			}
		}
		return Handled, s.suspend(ctx, c.OrgID, ev.ID, false)

	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var ss stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &ss); err != nil {
			return "", apperr.Invalid("", "invalid_event", "The subscription in the event cannot be read.")
		}
		b, err := s.repo.subscriptionByStripeID(ctx, ss.ID)
		if errors.Is(err, errNoSubscription) && ss.Metadata["portico_subscription_id"] != "" {
			// The event can come before the worker has stored the Stripe id.
			b, err = s.repo.subscription(ctx, ss.Metadata["portico_subscription_id"])
		}
		if errors.Is(err, errNoSubscription) {
			return Ignored, nil
		}
		if err != nil {
			return "", err
		}
		cols := map[string]any{"stripe_subscription_id": ss.ID, "stripe_status": string(ss.Status), "updated_at": s.now()}
		b.StripeSubscriptionID, b.StripeStatus = ss.ID, string(ss.Status)
		if ev.Type == "customer.subscription.deleted" {
			cols["state"], cols["stripe_status"] = StateCanceled, string(stripe.SubscriptionStatusCanceled)
			if err := s.repo.updateSubscription(ctx, b.SubscriptionID, cols); err != nil {
				return "", err
			}
			// Stripe ended it (unpaid, or cancelled there): no more calls on it.
			if err := s.access.SetSuspended(ctx, b.OrgID, []string{b.SubscriptionID}, true); err != nil {
				return "", err
			}
			return Handled, s.accounts.Audit(ctx, stripeActor(b.OrgID), "billing.subscription.ended", "subscription", b.SubscriptionID,
				map[string]any{"event_id": ev.ID})
		}
		if b.State == StateStarting || b.State == StateCheckout {
			cols["state"], b.State = StateActive, StateActive
		}
		if err := s.repo.updateSubscription(ctx, b.SubscriptionID, cols); err != nil {
			return "", err
		}
		return Handled, s.releaseIfPaid(ctx, b)

	case "checkout.session.completed":
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			return "", apperr.Invalid("", "invalid_event", "The Checkout session in the event cannot be read.")
		}
		id := cs.Metadata["portico_subscription_id"]
		if cs.Mode != stripe.CheckoutSessionModeSetup || id == "" {
			return Ignored, nil
		}
		if _, err := s.repo.subscription(ctx, id); errors.Is(err, errNoSubscription) {
			return Ignored, nil
		} else if err != nil {
			return "", err
		}
		return Handled, s.enqueue(ctx, jobCheckout, id, map[string]string{"session_id": cs.ID}, s.now())
	}
	return Ignored, nil
}

// suspend suspends (or restores) the organisation's paid subscriptions that
// have a Stripe subscription. The gateway sees it within a second.
func (s *Service) suspend(ctx context.Context, orgID, eventID string, suspended bool) error {
	subs, err := s.repo.subscriptionsIn(ctx, orgID, StateActive, StateCanceling)
	if err != nil || len(subs) == 0 {
		return err
	}
	ids := make([]string, len(subs))
	for i, b := range subs {
		ids[i] = b.SubscriptionID
	}
	if err := s.access.SetSuspended(ctx, orgID, ids, suspended); err != nil {
		return err
	}
	action := "billing.restore"
	if suspended {
		action = "billing.suspend"
	}
	return s.accounts.Audit(ctx, stripeActor(orgID), action, "organization", orgID,
		map[string]any{"event_id": eventID, "subscriptions": ids})
}
