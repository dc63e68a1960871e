package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"portico/internal/platform/apperr"
	"portico/internal/platform/netguard"
	"portico/internal/platform/period"
)

// quotaPeriods are the tier periods quota_used watches: shorter ones refill
// before an alert could help.
var quotaPeriods = []string{"hour", "day", "month"}

// quotaUsed is the largest fraction of its quota any active subscription of
// the rule's API (or organisation) has used in its current quota period, and
// names that subscription. Usage comes from the rollups of the subscription's
// application and API; calls answered 403 or 429 are left out, as the gateway
// refuses those before or at the limiter and they consume nothing (a backend
// answering 403 or 429 itself is undercounted). The rule's window plays no
// part: each subscription's own period does.
func (s *Service) quotaUsed(ctx context.Context, r Rule, now time.Time) (reading, error) {
	subs, err := s.repo.quotaSubscriptions(ctx, r.OrgID, r.APIID, quotaPeriods)
	if err != nil || len(subs) == 0 {
		return reading{}, err
	}
	var worst reading
	for _, per := range quotaPeriods {
		var these []quotaSubscription
		for _, sub := range subs {
			if sub.Per == per {
				these = append(these, sub)
			}
		}
		if len(these) == 0 {
			continue
		}
		start, end := period.Window(per, now)
		used, err := s.repo.quotaUsage(ctx, r.OrgID, r.APIID, start.Unix(), end.Unix())
		if err != nil {
			return reading{}, err
		}
		for _, sub := range these {
			n := used[pairKey{sub.APIID, sub.ApplicationID}]
			v := float64(n) / float64(sub.Requests)
			if v > worst.Value || worst.SubscriptionID == "" {
				worst = reading{Value: v, SubscriptionID: sub.ID, Detail: fmt.Sprintf(
					"subscription %s (application %s on %s, tier %s): %d of %d requests this %s",
					sub.ID, orID(sub.ApplicationName, sub.ApplicationID), orID(sub.APIName, sub.APIID), sub.Tier, n, sub.Requests, per)}
			}
		}
	}
	return worst, nil
}

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return fmt.Sprintf("%q", name)
}

// requestsRatio compares the requests of the last window with those of the
// window before it, both of complete minutes (the minute in progress would
// read as a drop): (n+1)/(m+1), so two quiet windows read 1 and a first burst
// after silence reads high.
func (s *Service) requestsRatio(ctx context.Context, r Rule, now time.Time) (reading, error) {
	end := now.Truncate(time.Minute)
	mid := end.Add(-r.Window())
	start := mid.Add(-r.Window())
	counts := [2]int64{}
	for i, span := range [2][2]time.Time{{start, mid}, {mid, end}} {
		rows, err := s.repo.aggregate(ctx, filter{OrgID: r.OrgID, APIID: r.APIID, From: span[0].Unix(), To: span[1].Unix()}, groupNone, 0, 0)
		if err != nil {
			return reading{}, err
		}
		if len(rows) > 0 {
			counts[i] = rows[0].Requests
		}
	}
	w := windowString(r)
	return reading{Value: float64(counts[1]+1) / float64(counts[0]+1),
		Detail: fmt.Sprintf("%d requests in the last %s, %d in the %s before", counts[1], w, counts[0], w)}, nil
}

// checkWebhook refuses a webhook URL whose host is, or resolves to, a
// loopback, private, link-local or otherwise non-public address: alerts must
// not become a way to reach Portico's own network. A name that does not
// resolve now is accepted; the connect-time check guards every delivery.
func (s *Service) checkWebhook(ctx context.Context, raw string) error {
	if raw == "" || s.opts.AllowPrivateWebhooks {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return apperr.Invalid("webhook_url", "invalid_url", "webhook_url must be an absolute http or https URL.")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err = netguard.CheckHost(ctx, s.opts.Resolver, u.Hostname())
	if errors.Is(err, netguard.ErrNotPublic) {
		return apperr.Invalid("webhook_url", "address_not_allowed", fmt.Sprintf(
			"%s is a loopback, private or link-local address, or resolves to one; alert webhooks go only to public addresses.", u.Hostname()))
	}
	if err != nil {
		s.log.Debug("analytics: webhook host does not resolve now; accepted", "host", u.Hostname(), "err", err)
	}
	return nil
}
