package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/account"
	"portico/internal/platform/metering"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

// fixture is an organisation with an admin, two developers and an application
// each, on a fresh database.
type fixture struct {
	st       *store.Store
	svc      *Service
	org      string
	admin    account.Principal
	dev1     account.Principal
	dev2     account.Principal
	app1     string
	app2     string
	apiA     string
	apiB     string
	registry *prometheus.Registry
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	accounts := account.NewService(st, storetest.Logger(t))
	org, err := accounts.EnsureDefaultOrg(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, org: org.ID, registry: prometheus.NewRegistry()}
	founder := account.Principal{OrgID: org.ID, Role: account.RoleAdmin}
	mk := func(email string, role account.Role) account.Principal {
		u, err := accounts.CreateUser(ctx, founder, account.NewUser{Email: email, Password: "password-password-1", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return account.Principal{UserID: u.ID, OrgID: org.ID, Email: email, Role: role}
	}
	f.admin = mk("admin@example.com", account.RoleAdmin)
	f.dev1 = mk("dev1@example.com", account.RoleDeveloper)
	f.dev2 = mk("dev2@example.com", account.RoleDeveloper)
	now := time.Now().UTC()
	for _, a := range []struct {
		id    *string
		owner string
		name  string
	}{{&f.app1, f.dev1.UserID, "one"}, {&f.app2, f.dev2.UserID, "two"}} {
		*a.id = account.NewID()
		storetest.MustExec(t, st, `INSERT INTO applications (id, org_id, owner_id, name, client_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, *a.id, org.ID, a.owner, a.name, "client-"+*a.id, now, now)
	}
	f.apiA, f.apiB = account.NewID(), account.NewID()
	// Test receivers listen on loopback.
	f.svc = NewService(st, accounts, storetest.Logger(t), Options{WebhookKey: []byte("test-webhook-key-0123456789abcdef"), AllowPrivateWebhooks: true})
	return f
}

func (f *fixture) sink(t *testing.T, o SinkOptions) *Sink {
	t.Helper()
	s, err := NewSink(f.st, f.registry, storetest.Logger(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

func (f *fixture) event(app string, status int, latency time.Duration, at time.Time) metering.Event {
	return metering.Event{Time: at, APIID: f.apiA, Operation: "GET /pets", ApplicationID: app, OrgID: f.org,
		Status: status, Latency: latency, BytesIn: 10, BytesOut: 100}
}

// counter reads a counter from the registry.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var v float64
			for _, m := range mf.GetMetric() {
				v += m.GetCounter().GetValue()
			}
			return v
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func count(t *testing.T, st *store.Store, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := st.DB(context.Background()).Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
