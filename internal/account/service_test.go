package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"portico/internal/account"
	"portico/internal/config"
	"portico/internal/platform/apperr"
	"portico/internal/store"
	"portico/internal/store/storetest"
)

func newService(t *testing.T, st *store.Store) *account.Service {
	t.Helper()
	return account.NewService(st, storetest.Logger(t))
}

func TestBootstrapCreatesOneAdminOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		res, err := svc.Bootstrap(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || res.Email != account.DefaultAdminEmail || len(res.GeneratedPassword) < 20 {
			t.Fatalf("first bootstrap: %+v", res)
		}
		if _, err := svc.Authenticate(ctx, account.DefaultAdminEmail, res.GeneratedPassword); err != nil {
			t.Fatalf("generated password does not log in: %v", err)
		}
		again, err := svc.Bootstrap(ctx, "other@example.com", "password-2")
		if err != nil || again.Created {
			t.Fatalf("second bootstrap created a user: %+v %v", again, err)
		}
	})
}

func TestBootstrapUsesConfiguredCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		res, err := svc.Bootstrap(ctx, " Ops@Example.com ", config.Secret("configured-pw"))
		if err != nil || !res.Created || res.GeneratedPassword != "" || res.Email != "ops@example.com" {
			t.Fatalf("bootstrap: %+v %v", res, err)
		}
		u, err := svc.Authenticate(ctx, "OPS@example.com", "configured-pw")
		if err != nil || u.Role != account.RoleAdmin {
			t.Fatalf("admin login: %+v %v", u, err)
		}
	})
}

func adminOf(t *testing.T, svc *account.Service) account.Principal {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.Bootstrap(ctx, "admin@example.com", "admin-password"); err != nil {
		t.Fatal(err)
	}
	u, err := svc.Authenticate(ctx, "admin@example.com", "admin-password")
	if err != nil {
		t.Fatal(err)
	}
	return account.Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role}
}

func TestCreateUserRefusesBadInputAndChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		admin := adminOf(t, svc)
		if _, err := svc.CreateUser(ctx, admin, account.NewUser{Email: "dev@example.com", Password: "password-1", Role: account.RoleDeveloper}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			actor account.Principal
			in    account.NewUser
			code  string
			field string
		}{
			{"duplicate e-mail in another case", admin, account.NewUser{Email: "DEV@example.com", Password: "password-1"}, "email_taken", "email"},
			{"not an e-mail", admin, account.NewUser{Email: "dev", Password: "password-1"}, "invalid_email", "email"},
			{"short password", admin, account.NewUser{Email: "a@example.com", Password: "short"}, "weak_password", "password"},
			{"huge password", admin, account.NewUser{Email: "a@example.com", Password: strings.Repeat("x", 2000)}, "invalid_password", "password"},
			{"unknown role", admin, account.NewUser{Email: "a@example.com", Password: "password-1", Role: "root"}, "invalid_role", "role"},
			{"publisher may not add users", account.Principal{OrgID: admin.OrgID, Role: account.RolePublisher}, account.NewUser{Email: "b@example.com", Password: "password-1"}, "forbidden", ""},
			{"developer may not add users", account.Principal{OrgID: admin.OrgID, Role: account.RoleDeveloper}, account.NewUser{Email: "c@example.com", Password: "password-1"}, "forbidden", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.CreateUser(ctx, tc.actor, tc.in)
				ae, ok := apperr.As(err)
				if !ok || ae.Code != tc.code || ae.Field != tc.field {
					t.Fatalf("got %v, want code %s field %q", err, tc.code, tc.field)
				}
			})
		}
		users, err := svc.ListUsers(ctx, admin, "", 100)
		if err != nil || len(users) != 2 {
			t.Fatalf("users after refusals: %d %v", len(users), err)
		}
	})
}

func TestSignUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		adminOf(t, svc)
		closed, err := svc.CreateOrg(ctx, "Closed Corp", "closed")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.DB(ctx).Exec("UPDATE organizations SET self_signup = ? WHERE id = ?", false, closed.ID).Error; err != nil {
			t.Fatal(err)
		}
		u, org, err := svc.SignUp(ctx, account.Signup{Email: "New@Example.com", Password: "password-1"})
		if err != nil || u.Role != account.RoleDeveloper || org.Slug != account.DefaultOrgSlug || u.Email != "new@example.com" {
			t.Fatalf("sign-up: %+v %+v %v", u, org, err)
		}
		_, _, err = svc.SignUp(ctx, account.Signup{Email: "x@example.com", Password: "password-1", Org: "closed"})
		if !errors.Is(err, account.ErrSignupDisabled) {
			t.Fatalf("closed org: %v", err)
		}
		_, _, err = svc.SignUp(ctx, account.Signup{Email: "x@example.com", Password: "password-1", Org: "nope"})
		if apperr.KindOf(err) != apperr.KindNotFound {
			t.Fatalf("unknown org: %v", err)
		}
		_, _, err = svc.SignUp(ctx, account.Signup{Email: "new@example.com", Password: "password-1"})
		if !errors.Is(err, account.ErrEmailTaken) {
			t.Fatalf("duplicate: %v", err)
		}
	})
}

func TestAuthenticateRefusesWithOneErrorForEveryFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		admin := adminOf(t, svc)
		if err := st.DB(ctx).Exec("UPDATE users SET disabled = ? WHERE id = ?", true, admin.UserID).Error; err != nil {
			t.Fatal(err)
		}
		for name, creds := range map[string][2]string{
			"unknown e-mail": {"nobody@example.com", "admin-password"},
			"wrong password": {"admin@example.com", "wrong-password"},
			"disabled user":  {"admin@example.com", "admin-password"},
			"empty password": {"admin@example.com", ""},
			"huge password":  {"admin@example.com", strings.Repeat("p", 5000)},
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := svc.Authenticate(ctx, creds[0], creds[1]); !errors.Is(err, account.ErrInvalidCredentials) {
					t.Fatalf("got %v", err)
				}
			})
		}
	})
}

func TestSessionsAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		admin := adminOf(t, svc)
		u, err := svc.Authenticate(ctx, admin.Email, "admin-password")
		if err != nil {
			t.Fatal(err)
		}
		cookie, err := svc.StartSession(ctx, u, "test-agent", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		p, err := svc.Session(ctx, cookie)
		if err != nil || p.UserID != u.ID || p.Via != "session" {
			t.Fatalf("session: %+v %v", p, err)
		}
		var stored int64
		st.DB(ctx).Raw("SELECT COUNT(*) FROM sessions WHERE id_hash = ?", cookie).Scan(&stored)
		if stored != 0 {
			t.Fatal("the session id is stored in clear")
		}
		if err := svc.EndSession(ctx, cookie); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Session(ctx, cookie); !errors.Is(err, account.ErrUnauthenticated) {
			t.Fatalf("ended session still works: %v", err)
		}

		tok, err := svc.IssueToken(ctx, admin.Email, "admin-password", "ci")
		if err != nil || !strings.HasPrefix(tok.Token, "pat_") {
			t.Fatalf("token: %+v %v", tok, err)
		}
		if p, err := svc.TokenPrincipal(ctx, tok.Token); err != nil || p.Role != account.RoleAdmin {
			t.Fatalf("token principal: %+v %v", p, err)
		}
		for _, bad := range []string{"", "pat_unknown", "not-a-token", tok.Token + "x"} {
			if _, err := svc.TokenPrincipal(ctx, bad); !errors.Is(err, account.ErrBadToken) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
		// An expired token is refused, and the janitor removes it.
		past := time.Now().UTC().Add(-time.Hour)
		if err := st.DB(ctx).Exec("UPDATE api_tokens SET expires_at = ?", past).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := svc.TokenPrincipal(ctx, tok.Token); !errors.Is(err, account.ErrBadToken) {
			t.Fatalf("expired token: %v", err)
		}
		if n, err := svc.PurgeExpired(ctx); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		var left int64
		st.DB(ctx).Raw("SELECT COUNT(*) FROM api_tokens").Scan(&left)
		if left != 0 {
			t.Fatalf("janitor left %d expired tokens", left)
		}
	})
}

func TestUsersOfAnotherOrganisationAreNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		admin := adminOf(t, svc)
		other, err := svc.CreateOrg(ctx, "Other", "other")
		if err != nil {
			t.Fatal(err)
		}
		otherAdmin := account.Principal{OrgID: other.ID, Role: account.RoleAdmin}
		stranger, err := svc.CreateUser(ctx, otherAdmin, account.NewUser{Email: "s@other.example.com", Password: "password-1", Role: account.RoleDeveloper})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.User(ctx, admin, stranger.ID); !errors.Is(err, account.ErrUserNotFound) {
			t.Fatalf("cross-org read: %v", err)
		}
		users, _ := svc.ListUsers(ctx, admin, "", 100)
		for _, u := range users {
			if u.OrgID != admin.OrgID {
				t.Fatalf("listed a user of another org: %s", u.Email)
			}
		}
	})
}

func TestOrganisationSlugs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(t, st)
		if _, err := svc.CreateOrg(ctx, "Acme", "acme"); err != nil {
			t.Fatal(err)
		}
		for slug, code := range map[string]string{"acme": "slug_taken", "Bad Slug": "invalid_slug", "-x": "invalid_slug", "login": "invalid_slug", "": "invalid_slug"} {
			if _, err := svc.CreateOrg(ctx, "X", slug); err == nil {
				t.Fatalf("slug %q accepted", slug)
			} else if ae, _ := apperr.As(err); ae == nil || ae.Code != code {
				t.Fatalf("slug %q: %v, want %s", slug, err, code)
			}
		}
		if got := account.Slugify("  Acme Corp. (EU) "); got != "acme-corp-eu" {
			t.Fatalf("slugify: %q", got)
		}
	})
}

func TestPasswordHashes(t *testing.T) {
	h, err := account.HashPassword("correct horse")
	if err != nil || !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("hash %q %v", h, err)
	}
	if ok, _ := account.CheckPassword(h, "correct horse"); !ok {
		t.Fatal("right password refused")
	}
	if ok, _ := account.CheckPassword(h, "wrong horse"); ok {
		t.Fatal("wrong password accepted")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$x$y", "$bcrypt$...", "$argon2id$v=19$m=19456,t=2,p=1$!!$!!"} {
		if _, err := account.CheckPassword(bad, "x"); err == nil {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}

func TestRepeatedWrongPasswordsLockTheAddressOut(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	svc := newService(t, st)
	ctx := context.Background()
	adminOf(t, svc)
	for i := 0; i < 10; i++ {
		if _, err := svc.Authenticate(ctx, "admin@example.com", "wrong-password"); !errors.Is(err, account.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// Now even the right password is refused, with a 429 that says why.
	_, err := svc.Authenticate(ctx, "ADMIN@example.com", "admin-password")
	if !errors.Is(err, account.ErrTooManyAttempts) || apperr.Status(apperr.KindOf(err)) != 429 {
		t.Fatalf("locked out: %v", err)
	}
	// Other accounts are unaffected.
	if _, err := svc.Authenticate(ctx, "someone@example.com", "x-password"); !errors.Is(err, account.ErrInvalidCredentials) {
		t.Fatalf("other address: %v", err)
	}
}
