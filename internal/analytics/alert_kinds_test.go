package analytics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/metering"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

// subscribe gives the fixture's apiA a row in apis, a tier of requests per
// per, and an active subscription of app on it; it returns the subscription id.
func (f *fixture) subscribe(t *testing.T, app, tier string, requests int64, per string) string {
	t.Helper()
	now := time.Now().UTC()
	if count(t, f.st, "SELECT COUNT(*) FROM apis WHERE id = ?", f.apiA) == 0 {
		storetest.MustExec(t, f.st, "INSERT INTO api_contexts (context, org_id, family_id, created_at) VALUES (?, ?, ?, ?)", "pets", f.org, f.apiA, now)
		storetest.MustExec(t, f.st, `INSERT INTO apis (id, org_id, family_id, name, context, version, created_at, updated_at)
			VALUES (?, ?, ?, 'Pets', 'pets', 'v1', ?, ?)`, f.apiA, f.org, f.apiA, now, now)
	}
	storetest.MustExec(t, f.st, `INSERT INTO tiers (id, org_id, name, requests, per, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		account.NewID(), f.org, tier, requests, per, now, now)
	id := account.NewID()
	storetest.MustExec(t, f.st, `INSERT INTO subscriptions (id, org_id, application_id, api_id, tier, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'ACTIVE', ?, ?)`, id, f.org, app, f.apiA, tier, now, now)
	return id
}

// TestEachAlertKindFiresToAWebhookAndClears drives every rule kind the issue
// names through the sink and the evaluator to a signed webhook receiver: it
// fires once when its metric crosses the threshold and clears when it is back.
func TestEachAlertKindFiresToAWebhookAndClears(t *testing.T) {
	num := func(f float64) *float64 { return &f }
	type env struct {
		f      *fixture
		record func(n int, e metering.Event)
		subID  string
	}
	cases := []struct {
		name  string
		rule  NewRule
		setup func(t *testing.T, e *env)
		// breach records what makes the rule fire at clock; calm, after the
		// clock moved on by advance, what makes it clear.
		breach, calm func(e *env, clock time.Time)
		advance      time.Duration
		wantDetail   string
		wantSub      bool
	}{
		{
			name: "backend down: the share of calls the gateway could not complete",
			rule: NewRule{Metric: MetricBackendErrorRate, Threshold: num(0.5), Window: "5m"},
			breach: func(e *env, clock time.Time) {
				ev := e.f.event(e.f.app1, 502, 3*time.Second, clock)
				ev.BackendFailed = true
				e.record(8, ev)
				e.record(2, e.f.event(e.f.app1, 200, time.Millisecond, clock))
			},
			advance: 10 * time.Minute,
			// A backend answering 502 itself is up: it does not count.
			calm:       func(e *env, clock time.Time) { e.record(10, e.f.event(e.f.app1, 502, time.Millisecond, clock)) },
			wantDetail: "8 of 10 calls could not be completed at the backend",
		},
		{
			name: "volume spike: requests doubled against the window before",
			rule: NewRule{Metric: MetricRequestsRatio, Threshold: num(2), Window: "5m"},
			breach: func(e *env, clock time.Time) {
				e.record(9, e.f.event(e.f.app1, 200, time.Millisecond, clock.Add(-7*time.Minute))) // the window before
				e.record(49, e.f.event(e.f.app1, 200, time.Millisecond, clock.Add(-2*time.Minute)))
			},
			advance: 5 * time.Minute, // the burst becomes the window before; the new one is quiet
			calm: func(e *env, clock time.Time) {
				e.record(40, e.f.event(e.f.app1, 200, time.Millisecond, clock.Add(-2*time.Minute)))
			},
			wantDetail: "49 requests in the last 5m, 9 in the 5m before",
		},
		{
			name: "volume drop: requests halved against the window before",
			rule: NewRule{Metric: MetricRequestsRatio, Operator: OperatorBelow, Threshold: num(0.5), Window: "5m"},
			breach: func(e *env, clock time.Time) {
				e.record(99, e.f.event(e.f.app1, 200, time.Millisecond, clock.Add(-7*time.Minute)))
				e.record(9, e.f.event(e.f.app1, 200, time.Millisecond, clock.Add(-2*time.Minute)))
			},
			advance: 5 * time.Minute,
			calm: func(e *env, clock time.Time) {
				e.record(9, e.f.event(e.f.app1, 200, time.Millisecond, clock.Add(-2*time.Minute)))
			},
			wantDetail: "9 requests in the last 5m, 99 in the 5m before",
		},
		{
			name: "quota near its end: the worst subscription is named",
			rule: NewRule{Metric: MetricQuotaUsed, Threshold: num(0.9)},
			setup: func(t *testing.T, e *env) {
				e.subID = e.f.subscribe(t, e.f.app1, "Daily100", 100, "day")
				e.f.subscribe(t, e.f.app2, "Monthly1000", 1000, "month")
			},
			breach: func(e *env, clock time.Time) {
				e.record(95, e.f.event(e.f.app1, 200, time.Millisecond, clock))
				e.record(30, e.f.event(e.f.app1, 429, time.Millisecond, clock)) // refused: consumes nothing
				e.record(50, e.f.event(e.f.app2, 200, time.Millisecond, clock))
			},
			advance:    24 * time.Hour, // a new day: app1's quota renews
			calm:       func(e *env, clock time.Time) { e.record(10, e.f.event(e.f.app1, 200, time.Millisecond, clock)) },
			wantDetail: `(application "one" on "Pets v1", tier Daily100): 95 of 100 requests this day`,
			wantSub:    true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				f := newFixture(t, st)
				rc := &receiver{secret: f.svc.WebhookSecret}
				srv := httptest.NewServer(rc)
				defer srv.Close()
				// Midday, so a day's quota period holds the whole test.
				clock := time.Now().UTC().Truncate(24 * time.Hour).Add(12*time.Hour + 30*time.Second)
				f.svc.opts.Now = func() time.Time { return clock }
				s := f.sink(t, SinkOptions{})
				s.Start()
				e := &env{f: f, record: func(n int, ev metering.Event) {
					for i := 0; i < n; i++ {
						s.Record(ev)
					}
				}}
				if c.setup != nil {
					c.setup(t, e)
				}
				in := c.rule
				in.WebhookURL = srv.URL
				rule, err := f.svc.CreateRule(within(t, 5*time.Second), f.admin, in)
				if err != nil {
					t.Fatal(err)
				}
				step := func(record func(*env, time.Time)) {
					t.Helper()
					record(e, clock)
					if err := s.Flush(within(t, 10*time.Second)); err != nil {
						t.Fatal(err)
					}
					for i := 0; i < 2; i++ { // a second evaluation must not notify again
						if err := f.svc.Evaluate(within(t, 20*time.Second)); err != nil {
							t.Fatal(err)
						}
					}
				}

				step(c.breach)
				got := rc.notifications()
				if len(got) != 1 || got[0].State != StateFiring {
					t.Fatalf("after the breach: %+v, want one firing notification", got)
				}
				if !strings.Contains(got[0].Detail, c.wantDetail) {
					t.Fatalf("detail %q, want it to contain %q", got[0].Detail, c.wantDetail)
				}
				if c.wantSub && (got[0].SubscriptionID != e.subID || !strings.Contains(got[0].Detail, e.subID)) {
					t.Fatalf("notification names subscription %q (%q), want %s", got[0].SubscriptionID, got[0].Detail, e.subID)
				}

				clock = clock.Add(c.advance)
				step(c.calm)
				got = rc.notifications()
				if len(got) != 2 || got[1].State != StateCleared {
					t.Fatalf("after calm: %+v, want firing then cleared", got)
				}
				hist, err := f.svc.History(within(t, 5*time.Second), f.admin, rule.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(hist) != 2 || hist[1].State != StateFiring || !strings.Contains(hist[1].Detail, c.wantDetail) || hist[1].Notified != "webhook: 204" {
					t.Fatalf("history: %+v", hist)
				}
				if rc.badSig != 0 {
					t.Fatalf("%d webhooks with a bad signature", rc.badSig)
				}
			})
		})
	}
}

func TestQuotaUsedIgnoresUnlimitedAndShortPeriodTiers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		f.subscribe(t, f.app1, "PerMinute", 10, "minute") // refills before an alert could help
		clock := time.Now().UTC()
		s := f.sink(t, SinkOptions{})
		s.Start()
		for i := 0; i < 10; i++ {
			s.Record(f.event(f.app1, 200, time.Millisecond, clock))
		}
		if err := s.Flush(within(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		rd, err := f.svc.metric(within(t, 10*time.Second), Rule{OrgID: f.org, Metric: MetricQuotaUsed, WindowSeconds: 300}, clock)
		if err != nil {
			t.Fatal(err)
		}
		if rd.Value != 0 || rd.SubscriptionID != "" {
			t.Fatalf("quota_used with only a per-minute tier: %+v, want nothing", rd)
		}
	})
}

func TestWebhookToAnInternalAddressIsRefused(t *testing.T) {
	num := func(f float64) *float64 { return &f }
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		guarded := NewService(st, f.svc.accounts, storetest.Logger(t), Options{WebhookKey: []byte("test-webhook-key-0123456789abcdef")})

		t.Run("when the rule is saved", func(t *testing.T) {
			for _, u := range []string{
				"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://LOCALHOST./hook", "http://[::1]/hook",
				"http://169.254.169.254/latest/meta-data", "http://10.0.0.7/hook", "https://192.168.1.1/hook",
				"http://0.0.0.0/hook", "http://[fd00::1]/hook", "http://100.64.0.1/hook", "http://[::ffff:127.0.0.1]/hook",
				"http://2130706433/hook",
			} {
				t.Run(u, func(t *testing.T) {
					_, err := guarded.CreateRule(within(t, 5*time.Second), f.admin, NewRule{Metric: MetricRequests, Threshold: num(1), WebhookURL: u})
					ae, ok := apperr.As(err)
					if !ok || ae.Kind != apperr.KindInvalid || ae.Field != "webhook_url" || ae.Code != "address_not_allowed" {
						t.Fatalf("err = %v, want invalid webhook_url address_not_allowed", err)
					}
				})
			}
		})

		t.Run("when it is delivered", func(t *testing.T) {
			// The rule was saved while its host was public (here: by a service
			// that allows loopback); by delivery it points inside, as after DNS
			// rebinding. The connect-time check refuses it.
			rc := &receiver{secret: f.svc.WebhookSecret}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			rule, err := f.svc.CreateRule(within(t, 5*time.Second), f.admin, NewRule{Metric: MetricRequests, Operator: OperatorBelow, Threshold: num(1), WebhookURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if err := guarded.Evaluate(within(t, 20*time.Second)); err != nil {
				t.Fatal(err)
			}
			if got := rc.notifications(); len(got) != 0 {
				t.Fatalf("the receiver on loopback got %d notifications", len(got))
			}
			hist, err := guarded.History(within(t, 5*time.Second), f.admin, rule.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != 1 || hist[0].State != StateFiring || hist[0].Notified != "webhook: refused: not a public address" {
				t.Fatalf("history: %+v", hist)
			}
		})
	})
}

// notifications returns what the receiver accepted.
func (rc *receiver) notifications() []Notification {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Notification(nil), rc.got...)
}
