package billing

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/store"
	"portico/internal/store/outbox"
)

// Usage names the calls of one subscription. The gateway's rollups know the
// application and the API; a subscription is the one pair of them.
type Usage struct {
	SubscriptionID string
	ApplicationID  string
	APIID          string
}

// UsageSource counts the billable calls of a subscription in [from, to):
// calls the gateway let through to the rate limiter (what the quota counts),
// read from the analytics rollups.
type UsageSource interface {
	Calls(ctx context.Context, u Usage, from, to time.Time) (int64, error)
}

// Exemption reports whether an organisation is billed elsewhere (the Heroku
// add-on's organisations are billed by Heroku) and so never touches Stripe.
type Exemption func(ctx context.Context, orgID string) (bool, error)

// Options configure the service.
type Options struct {
	// SecretKey is STRIPE_SECRET_KEY; without it billing is off and paid tiers
	// cannot be subscribed (app then sets no payment gate).
	SecretKey string
	// WebhookSecret is STRIPE_WEBHOOK_SECRET; without it every webhook is refused.
	WebhookSecret string
	// APIBase is STRIPE_API_BASE, without /v1.
	APIBase string
	// BaseURL is Portico's public URL, for Checkout's return links.
	BaseURL string
	// HTTPClient talks to Stripe (default: 30 s timeout).
	HTTPClient *http.Client
	// Usage counts calls; nil reports no usage.
	Usage UsageSource
	// Exempt skips organisations billed elsewhere; nil exempts none.
	Exempt Exemption
	// Currency of every price (default "usd"); amounts are its cents.
	Currency string
	// StripeAttempts and StripeBackoff bound one Stripe call's retries
	// (default 4 attempts from 500 ms).
	StripeAttempts int
	StripeBackoff  time.Duration
	// PollEvery is how often the outbox worker looks for due jobs (default 1 s).
	PollEvery time.Duration
	// RetryBase and RetryMax bound a failed job's backoff (default 5 s to 1 h);
	// a job is given up after MaxAttempts (default 25).
	RetryBase, RetryMax time.Duration
	MaxAttempts         int
	// ReportEvery is how often usage is reported (default 1 h); UsageGrace is
	// how long after an hour ends its calls are counted, so the analytics sink
	// has written them (default 5 min).
	ReportEvery, UsageGrace time.Duration
	// Now is the clock (default time.Now in UTC).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Currency == "" {
		o.Currency = "usd"
	}
	if o.StripeAttempts <= 0 {
		o.StripeAttempts = 4
	}
	if o.StripeBackoff <= 0 {
		o.StripeBackoff = 500 * time.Millisecond
	}
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 5 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 25
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = time.Hour
	}
	if o.UsageGrace <= 0 {
		o.UsageGrace = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// Service is the billing module.
type Service struct {
	st       *store.Store
	repo     repo
	access   *access.Service
	catalog  *catalog.Service
	accounts *account.Service
	stripe   *stripeClient // nil when billing is off
	opts     Options
	log      *slog.Logger
	kick     chan struct{}
	jobs     *outbox.Worker[job, *job]
}

// NewService returns the billing service. Without opts.SecretKey it is off:
// Enabled is false, invoices are an empty list and nothing reaches Stripe.
func NewService(st *store.Store, accounts *account.Service, cat *catalog.Service, acc *access.Service, log *slog.Logger, opts Options) *Service {
	opts = opts.withDefaults()
	s := &Service{st: st, repo: repo{st}, access: acc, catalog: cat, accounts: accounts, opts: opts, log: log,
		kick: make(chan struct{}, 1)}
	s.jobs = s.newWorker()
	if opts.SecretKey != "" {
		s.stripe = newStripeClient(opts.SecretKey, opts.APIBase, opts.HTTPClient, opts.StripeAttempts, opts.StripeBackoff, log)
	}
	return s
}

// Enabled reports whether Stripe is configured.
func (s *Service) Enabled() bool { return s.stripe != nil }

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// StartPaid implements access.PaymentGate. It runs inside the subscribe
// transaction, so it only records what must happen: the billing subscription
// and an outbox job the worker runs after commit. A subscription that would
// start ACTIVE starts PENDING instead, held until Stripe says it is paid for,
// so the gateway never serves it unpaid; one waiting for the publisher's
// approval is left to the approval (HoldOnApproval).
func (s *Service) StartPaid(ctx context.Context, actor account.Principal, sub *access.Subscription, tier catalog.Tier) error {
	if !s.Enabled() {
		return errors.New("billing: StartPaid without a Stripe key")
	}
	if s.opts.Exempt != nil {
		exempt, err := s.opts.Exempt(ctx, sub.OrgID)
		if err != nil {
			return err
		}
		if exempt {
			return nil
		}
	}
	now := s.now()
	if err := s.repo.ensureTierPrice(ctx, &tierPrice{TierID: tier.ID, OrgID: tier.OrgID, CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	b := Subscription{SubscriptionID: sub.ID, OrgID: sub.OrgID, TierID: tier.ID, APIID: sub.APIID, ApplicationID: sub.ApplicationID,
		State: StateStarting, Held: sub.Status == access.StatusActive, FeeCents: tier.MonthlyFeeCents, PerCallCents: tier.PerCallCents,
		UsageFrom: now.Truncate(time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := s.repo.createSubscription(ctx, &b); err != nil {
		return err
	}
	if b.Held {
		sub.Status = access.StatusPending
	}
	if err := s.enqueue(ctx, jobStart, sub.ID, nil, now); err != nil {
		return err
	}
	return s.accounts.Audit(ctx, actor, "billing.subscription.start", "subscription", sub.ID,
		map[string]any{"tier": tier.Name, "monthly_fee_cents": tier.MonthlyFeeCents, "per_call_cents": tier.PerCallCents})
}

// HoldOnApproval implements access.PaymentGate: a paid subscription approved
// before Stripe says it is paid stays PENDING, held, and the payment releases
// it. It runs inside the approval's transaction.
func (s *Service) HoldOnApproval(ctx context.Context, subscriptionID string) (bool, error) {
	b, err := s.repo.subscription(ctx, subscriptionID)
	if errors.Is(err, errNoSubscription) {
		return false, nil // a free tier, or an organisation billing exempts
	}
	if err != nil {
		return false, err
	}
	if paid(b.StripeStatus) {
		return false, nil
	}
	return true, s.repo.updateSubscription(ctx, subscriptionID, map[string]any{"held": true, "updated_at": s.now()})
}

// BillingSubscription returns the billing side of a subscription the caller
// may see (access decides), e.g. for its Checkout link.
func (s *Service) BillingSubscription(ctx context.Context, actor account.Principal, id string) (Subscription, error) {
	if _, err := s.access.Subscription(ctx, actor, id); err != nil {
		return Subscription{}, err
	}
	b, err := s.repo.subscription(ctx, id)
	if errors.Is(err, errNoSubscription) {
		return Subscription{}, errNotPaid
	}
	return b, err
}
