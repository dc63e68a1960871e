package billing

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// RunReporter reports usage every ReportEvery until ctx ends, and once at
// start (catching up on hours missed while no node ran).
func (s *Service) RunReporter(ctx context.Context) {
	if !s.Enabled() || s.opts.Usage == nil {
		return
	}
	t := time.NewTicker(s.opts.ReportEvery)
	defer t.Stop()
	for {
		if err := s.ReportUsage(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "billing: usage reporting failed; the next run catches up", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reportIdentifier is the meter event identifier (and idempotency key) of one
// subscription's hour: the same hour is always the same identifier, so Stripe
// counts a resent report once.
func reportIdentifier(subscriptionID string, hour time.Time) string {
	return "portico-" + subscriptionID + "-" + strconv.FormatInt(hour.Unix(), 10)
}

// ReportUsage reports every closed hour of every metered subscription.
//
// First, for each hour past a subscription's high-water mark that ended at
// least UsageGrace ago, one transaction counts its calls, writes a pending
// report and moves the mark past the hour: an hour is counted exactly once,
// even with several nodes. Then every pending report is sent. A report is
// marked sent only after Stripe answers; a crash in between leaves it
// pending, and the resend carries the same identifier and idempotency key,
// so Stripe never counts it twice and no call is lost.
func (s *Service) ReportUsage(ctx context.Context) error {
	if !s.Enabled() || s.opts.Usage == nil {
		return nil
	}
	subs, err := s.repo.meteredSubscriptions(ctx)
	if err != nil {
		return err
	}
	closed := s.now().Add(-s.opts.UsageGrace).Truncate(time.Hour) // the first hour still open
	for _, b := range subs {
		if err := s.countHours(ctx, b, closed); err != nil {
			return err
		}
	}
	return s.sendReports(ctx)
}

// countHours writes the pending reports of b's closed hours.
func (s *Service) countHours(ctx context.Context, b Subscription, closed time.Time) error {
	end := closed
	if b.State == StateCanceled {
		// Stripe bills nothing after the end; count up to the hour it ended.
		if stop := b.UpdatedAt.Truncate(time.Hour).Add(time.Hour); stop.Before(end) {
			end = stop
		}
	}
	u := Usage{SubscriptionID: b.SubscriptionID, ApplicationID: b.ApplicationID, APIID: b.APIID}
	for h := b.UsageFrom.UTC(); h.Before(end); h = h.Add(time.Hour) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		calls, err := s.opts.Usage.Calls(ctx, u, h, h.Add(time.Hour))
		if err != nil {
			return err
		}
		moved := false
		err = s.st.InTx(ctx, func(ctx context.Context) error {
			now := s.now()
			var err error
			if moved, err = s.repo.advanceUsage(ctx, b.SubscriptionID, h, h.Add(time.Hour), now); err != nil || !moved {
				return err
			}
			if calls == 0 {
				return nil
			}
			_, err = s.repo.createReport(ctx, &usageReport{SubscriptionID: b.SubscriptionID, Hour: h, Quantity: calls,
				Identifier: reportIdentifier(b.SubscriptionID, h), State: reportPending, CreatedAt: now})
			return err
		})
		if err != nil {
			return err
		}
		if !moved {
			return nil // another node is counting this subscription
		}
	}
	return nil
}

// sendReports sends the pending reports, oldest first.
func (s *Service) sendReports(ctx context.Context) error {
	subs := map[string]Subscription{}
	customers := map[string]string{}
	var failed error
	for {
		reports, err := s.repo.pendingReports(ctx, 200)
		if err != nil {
			return err
		}
		progress := false
		for _, r := range reports {
			b, ok := subs[r.SubscriptionID]
			if !ok {
				if b, err = s.repo.subscription(ctx, r.SubscriptionID); err != nil {
					return err
				}
				subs[r.SubscriptionID] = b
			}
			cus, ok := customers[b.OrgID]
			if !ok {
				c, err := s.repo.customer(ctx, b.OrgID)
				if err != nil {
					return err
				}
				cus, customers[b.OrgID] = c.CustomerID, c.CustomerID
			}
			if err := s.sendReport(ctx, b, cus, r); err != nil {
				failed = errors.Join(failed, err)
				if uerr := s.repo.markReport(ctx, r, map[string]any{"attempts": r.Attempts + 1}); uerr != nil {
					return uerr
				}
				continue
			}
			progress = true
			now := s.now()
			if err := s.repo.markReport(ctx, r, map[string]any{"state": reportSent, "sent_at": now, "attempts": r.Attempts + 1}); err != nil {
				return err
			}
		}
		if len(reports) < 200 || !progress {
			return failed
		}
	}
}

// sendReport sends one hour as a Billing Meter event. The identifier makes
// the event unique at Stripe; the same value as idempotency key makes a
// resent request return the first answer.
func (s *Service) sendReport(ctx context.Context, b Subscription, customerID string, r usageReport) error {
	return s.stripe.call(ctx, "meter event", func() error {
		_, err := s.stripe.api.BillingMeterEvents.New(&stripe.BillingMeterEventParams{Params: params(ctx, r.Identifier),
			EventName:  stripe.String(b.MeterEventName),
			Identifier: stripe.String(r.Identifier),
			Timestamp:  stripe.Int64(r.Hour.Unix()),
			Payload:    map[string]string{"stripe_customer_id": customerID, "value": strconv.FormatInt(r.Quantity, 10)},
		})
		return err
	})
}
