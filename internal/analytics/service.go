package analytics

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/netguard"
	"portico/internal/store"
)

// Options configure the service. Zero values take the defaults.
type Options struct {
	// RawRetention is how long raw events are kept (default 7 days).
	RawRetention time.Duration
	// RollupRetention is how long per-minute rollups are kept (default 400 days).
	RollupRetention time.Duration
	// JanitorEvery is how often retention runs (default 1 h).
	JanitorEvery time.Duration
	// EvaluateEvery is how often alert rules are evaluated (default 1 min).
	EvaluateEvery time.Duration
	// WebhookKey derives each rule's webhook signing secret.
	WebhookKey []byte
	// SMTPURL, when set, sends alert e-mails (smtp:// or smtps://user:pass@host:port).
	SMTPURL string
	// BaseURL is Portico's public URL (links in notifications, the e-mail sender's domain).
	BaseURL string
	// HTTPClient delivers webhooks (default: 10 s timeout, connecting only to
	// public addresses unless AllowPrivateWebhooks, never through a proxy,
	// redirects not followed).
	HTTPClient *http.Client
	// AllowPrivateWebhooks lets webhook URLs name loopback and private
	// addresses, for tests whose receivers listen on loopback. Off in
	// production: a rule must not reach Portico's own network.
	AllowPrivateWebhooks bool
	// Resolver checks webhook hosts when a rule is saved (default: the system's).
	Resolver *net.Resolver
	// Now is the clock (tests).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.RawRetention <= 0 {
		o.RawRetention = 7 * 24 * time.Hour
	}
	if o.RollupRetention <= 0 {
		o.RollupRetention = 400 * 24 * time.Hour
	}
	if o.JanitorEvery <= 0 {
		o.JanitorEvery = time.Hour
	}
	if o.EvaluateEvery <= 0 {
		o.EvaluateEvery = time.Minute
	}
	if o.HTTPClient == nil {
		o.HTTPClient = webhookClient(o.AllowPrivateWebhooks)
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// webhookClient delivers alert webhooks. The dialer refuses non-public
// addresses after DNS (a host that resolved outside when the rule was saved
// may resolve inside later); no proxy, as a proxy would connect on our behalf
// to anything; a redirect is answered as it is, not followed.
func webhookClient(allowPrivate bool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:           netguard.Dialer(5*time.Second, allowPrivate).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConns:          4,
			IdleConnTimeout:       30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Service answers usage queries and manages alert rules.
type Service struct {
	st       *store.Store
	repo     repo
	accounts *account.Service
	log      *slog.Logger
	opts     Options
}

// NewService returns the analytics service.
func NewService(st *store.Store, accounts *account.Service, log *slog.Logger, opts Options) *Service {
	return &Service{st: st, repo: repo{st}, accounts: accounts, log: log, opts: opts.withDefaults()}
}

// Errors users see, by stable code.
var (
	ErrRuleNotFound = apperr.NotFound("alert rule")
	ErrAPINotFound  = apperr.NotFound("API")
)

// scope turns a caller and a query into the rollup filter they may see:
// admins and publishers their organisation, developers their own applications.
// An application of another organisation, or another developer's, is not found.
func (s *Service) scope(ctx context.Context, p account.Principal, q Query) (filter, error) {
	f := filter{OrgID: p.OrgID, From: q.From.Truncate(time.Minute).Unix(), To: q.To.Unix(), APIID: q.APIID, ApplicationID: q.ApplicationID}
	if q.To.Truncate(time.Minute) != q.To {
		f.To = q.To.Truncate(time.Minute).Add(time.Minute).Unix() // the minute to falls in counts
	}
	if p.OrgID == "" || p.UserID == "" {
		return f, account.ErrUnauthenticated
	}
	if !p.Is(account.RoleAdmin, account.RolePublisher) {
		f.OwnerID = p.UserID
	}
	if q.ApplicationID != "" {
		owner, err := s.repo.applicationOwner(ctx, p.OrgID, q.ApplicationID)
		if err != nil {
			return f, err
		}
		if f.OwnerID != "" && owner != f.OwnerID {
			return f, apperr.NotFound("application")
		}
	}
	return f, nil
}
