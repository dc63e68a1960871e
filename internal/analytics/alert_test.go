package analytics

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/internal/platform/apperr"
	"portico/internal/platform/mail/mailtest"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

type receiver struct {
	mu     sync.Mutex
	got    []Notification
	badSig int
	secret func(ruleID string) string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var n Notification
	_ = json.Unmarshal(body, &n)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Header.Get("X-Portico-Signature") != Sign(rc.secret(n.RuleID), body) {
		rc.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.got = append(rc.got, n)
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) states() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, n := range rc.got {
		out = append(out, n.State)
	}
	return out
}

func TestAlertFiresOnceRepeatsOnlyAfterClearingAndSignsItsWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st)
		rc := &receiver{secret: f.svc.WebhookSecret}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		clock := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
		f.svc.opts.Now = func() time.Time { return clock }
		smtpd := mailtest.Start(t)
		f.svc.opts.SMTPURL = smtpd.URL

		th := 0.2
		rule, err := f.svc.CreateRule(within(t, 5*time.Second), f.admin, NewRule{Metric: MetricErrorRate, Threshold: &th, Window: "5m", WebhookURL: srv.URL, Email: "ops@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s := f.sink(t, SinkOptions{})
		s.Start()
		burst := func(at time.Time, errors, ok int) {
			for i := 0; i < errors; i++ {
				s.Record(f.event(f.app1, 502, 5*time.Millisecond, at))
			}
			for i := 0; i < ok; i++ {
				s.Record(f.event(f.app1, 200, 5*time.Millisecond, at))
			}
			if err := s.Flush(within(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		eval := func() {
			t.Helper()
			if err := f.svc.Evaluate(within(t, 20*time.Second)); err != nil {
				t.Fatal(err)
			}
		}

		eval() // no traffic: nothing
		burst(clock, 5, 5)
		eval()
		eval() // still breached: no second notification
		if got := rc.states(); len(got) != 1 || got[0] != StateFiring {
			t.Fatalf("after two evaluations over the threshold: %v, want one firing", got)
		}
		r, _ := f.svc.Rule(within(t, 5*time.Second), f.admin, rule.ID)
		if !r.Firing || r.LastValue != 0.5 {
			t.Fatalf("rule after firing: %+v", r)
		}

		clock = clock.Add(10 * time.Minute) // the burst leaves the window
		burst(clock, 0, 10)
		eval()
		eval()
		if got := rc.states(); len(got) != 2 || got[1] != StateCleared {
			t.Fatalf("after the window passed: %v, want firing then cleared", got)
		}

		burst(clock, 40, 0)
		eval()
		if got := rc.states(); len(got) != 3 || got[2] != StateFiring {
			t.Fatalf("after a second burst: %v, want it to fire again", got)
		}
		if rc.badSig != 0 {
			t.Fatalf("%d webhooks with a bad signature", rc.badSig)
		}
		hist, err := f.svc.History(within(t, 5*time.Second), f.admin, rule.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 3 || hist[0].State != StateFiring || hist[0].Notified != "webhook: 204; email: sent" {
			t.Fatalf("history: %+v", hist)
		}
		mails := smtpd.Wait(t, 3, 5*time.Second)
		if m := mails[0]; m.To[0] != "ops@example.com" || !strings.Contains(m.Subject, "error_rate above 0.2: firing") ||
			!strings.Contains(m.Body, "/publisher/analytics") || !strings.HasPrefix(m.From, "portico-alerts@") {
			t.Fatalf("alert e-mail: %+v", m)
		}
		if !strings.Contains(mails[1].Subject, "cleared") {
			t.Fatalf("second e-mail: %+v", mails[1])
		}
	})
}

func TestWebhookSignatureIsHMACSHA256OfTheBody(t *testing.T) {
	// Fixed vector: echo -n '{"a":1}' | openssl dgst -sha256 -hmac key
	if got := Sign("key", []byte(`{"a":1}`)); got != "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342" {
		t.Fatalf("signature %s", got)
	}
	s := &Service{opts: Options{WebhookKey: []byte("k1")}}
	other := &Service{opts: Options{WebhookKey: []byte("k2")}}
	if s.WebhookSecret("r1") == s.WebhookSecret("r2") || s.WebhookSecret("r1") == other.WebhookSecret("r1") {
		t.Fatal("webhook secrets must differ by rule and by key")
	}
}

func TestRuleValidation(t *testing.T) {
	num := func(f float64) *float64 { return &f }
	cases := []struct {
		name  string
		in    NewRule
		field string
	}{
		{"metric is required", NewRule{Threshold: num(1)}, "metric"},
		{"unknown metric", NewRule{Metric: "cpu", Threshold: num(1)}, "metric"},
		{"threshold is required", NewRule{Metric: MetricRequests}, "threshold"},
		{"negative threshold", NewRule{Metric: MetricRequests, Threshold: num(-1)}, "threshold"},
		{"error rate above one", NewRule{Metric: MetricErrorRate, Threshold: num(5)}, "threshold"},
		{"window not a duration", NewRule{Metric: MetricRequests, Threshold: num(1), Window: "five"}, "window"},
		{"window under a minute", NewRule{Metric: MetricRequests, Threshold: num(1), Window: "30s"}, "window"},
		{"window over a day", NewRule{Metric: MetricRequests, Threshold: num(1), Window: "48h"}, "window"},
		{"window of part minutes", NewRule{Metric: MetricRequests, Threshold: num(1), Window: "90s"}, "window"},
		{"webhook not http", NewRule{Metric: MetricRequests, Threshold: num(1), WebhookURL: "ftp://x/y"}, "webhook_url"},
		{"webhook relative", NewRule{Metric: MetricRequests, Threshold: num(1), WebhookURL: "/hook"}, "webhook_url"},
		{"email not an address", NewRule{Metric: MetricRequests, Threshold: num(1), Email: "ops"}, "email"},
		{"email with a name", NewRule{Metric: MetricRequests, Threshold: num(1), Email: "Ops <ops@example.com>"}, "email"},
		{"unknown operator", NewRule{Metric: MetricRequests, Threshold: num(1), Operator: "near"}, "operator"},
		{"quota used above one", NewRule{Metric: MetricQuotaUsed, Threshold: num(1.5)}, "threshold"},
		{"backend error rate above one", NewRule{Metric: MetricBackendErrorRate, Threshold: num(2)}, "threshold"},
		{"a good rule", NewRule{Metric: MetricP95Latency, Threshold: num(250), Window: "1h", Email: "ops@example.com", Operator: "below"}, ""},
		{"a quota rule", NewRule{Metric: MetricQuotaUsed, Threshold: num(0.9)}, ""},
		{"a backend-down rule", NewRule{Metric: MetricBackendErrorRate, Threshold: num(0.5), Window: "2m"}, ""},
		{"a spike rule: traffic tripled", NewRule{Metric: MetricRequestsRatio, Threshold: num(3), Window: "15m"}, ""},
		{"a drop rule: traffic down to a tenth", NewRule{Metric: MetricRequestsRatio, Operator: OperatorBelow, Threshold: num(0.1)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.in.validate()
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindInvalid || ae.Field != c.field {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
		})
	}
}
