package heroku

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

const testSalt = "2f97bfa52ca102f8874716e2eb1d3b4920ad0be4"

func TestTokensMatchHerokusVectors(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"legacy token", LegacyToken("123", testSalt, "1267597772"), "bb466eb1d6bc345d11072c3cd25c311f21be130d"},
		{"resource token", LegacyToken("01234567-89ab-cdef-0123-456789abcdef", testSalt, "1267597772"), "7659cc00fc08ff8b7bb76cd8c9762bcf528b4173"},
		{"user-scoped token", UserScopedToken("01234567-89ab-cdef-0123-456789abcdef", testSalt, "1267597772",
			"11111111-2222-3333-4444-555555555555", "user@example.com"), "fccd3b47ca946c9187833cc35a2b8ebefbcd2f5a8ef2d9a37ed890e2e4928523"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Fatalf("got %s, want %s", c.got, c.want)
			}
		})
	}
}

func TestVerifySSO(t *testing.T) {
	const rid = "01234567-89ab-cdef-0123-456789abcdef"
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	at := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).Unix(), 10) }
	good := []struct {
		name string
		in   SSORequest
	}{
		{"v3 resource token", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, ts), Timestamp: ts}},
		{"v3 token in upper case", SSORequest{ResourceID: rid, ResourceToken: upper(LegacyToken(rid, testSalt, ts)), Timestamp: ts}},
		{"user-scoped token", SSORequest{ResourceID: rid, UserID: "u1", Email: "a@example.com", Timestamp: ts,
			UserScopedToken: UserScopedToken(rid, testSalt, ts, "u1", "a@example.com")}},
		{"legacy id and token", SSORequest{ID: rid, Token: LegacyToken(rid, testSalt, ts), Timestamp: ts}},
		{"4 minutes old", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, at(-4*time.Minute)), Timestamp: at(-4 * time.Minute)}},
		{"4 minutes ahead", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, at(4*time.Minute)), Timestamp: at(4 * time.Minute)}},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			got, err := verifySSO(c.in, testSalt, now)
			if err != nil || got != rid {
				t.Fatalf("verifySSO = %q, %v; want %q", got, err, rid)
			}
		})
	}
	bad := []struct {
		name string
		in   SSORequest
	}{
		{"no token", SSORequest{ResourceID: rid, Timestamp: ts}},
		{"no timestamp", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, ts)}},
		{"timestamp not a number", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, "x"), Timestamp: "x"}},
		{"stale by 6 minutes", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, at(-6*time.Minute)), Timestamp: at(-6 * time.Minute)}},
		{"6 minutes in the future", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, at(6*time.Minute)), Timestamp: at(6 * time.Minute)}},
		{"tampered token", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, "other-salt", ts), Timestamp: ts}},
		{"token for another resource", SSORequest{ResourceID: rid, ResourceToken: LegacyToken("11111111-89ab-cdef-0123-456789abcdef", testSalt, ts), Timestamp: ts}},
		{"timestamp changed after signing", SSORequest{ResourceID: rid, ResourceToken: LegacyToken(rid, testSalt, ts), Timestamp: at(time.Second)}},
		{"user-scoped token for another e-mail", SSORequest{ResourceID: rid, UserID: "u1", Email: "b@example.com", Timestamp: ts,
			UserScopedToken: UserScopedToken(rid, testSalt, ts, "u1", "a@example.com")}},
		{"user-scoped token without user id", SSORequest{ResourceID: rid, Email: "a@example.com", Timestamp: ts,
			UserScopedToken: UserScopedToken(rid, testSalt, ts, "", "a@example.com")}},
		{"bad user-scoped token beside a good resource token", SSORequest{ResourceID: rid, UserID: "u1", Email: "a@example.com", Timestamp: ts,
			UserScopedToken: "00", ResourceToken: LegacyToken(rid, testSalt, ts)}},
		{"resource token without resource id", SSORequest{ResourceToken: LegacyToken(rid, testSalt, ts), Timestamp: ts}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := verifySSO(c.in, testSalt, now)
			r, ok := err.(*Refusal)
			if !ok || r.Status != http.StatusForbidden {
				t.Fatalf("verifySSO error = %v, want a 403 refusal", err)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestLandingStaysInThePublisher(t *testing.T) {
	cases := map[string]string{
		"":                              "/publisher",
		"/publisher":                    "/publisher",
		"/publisher/apis":               "/publisher/apis",
		"https://evil.example/":         "/publisher",
		"//evil.example/publisher":      "/publisher",
		"/publisher//evil.example":      "/publisher",
		"/publisher/../admin":           "/publisher",
		"/admin":                        "/publisher",
		"/publisherx":                   "/publisher",
		"/publisher/\\evil.example":     "/publisher",
		"javascript:alert(1)":           "/publisher",
		"/publisher/apis\r\nSet-Cookie": "/publisher",
	}
	for in, want := range cases {
		if got := landing(in); got != want {
			t.Errorf("landing(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlansAndOptions(t *testing.T) {
	for _, c := range []struct{ in, tier string }{{"test", "Bronze"}, {"starter", "Silver"}, {"pro", "Gold"}, {"portico:pro", "Gold"}, {" Starter ", "Silver"}} {
		p, ok := PlanNamed(c.in)
		if !ok || p.Tier != c.tier {
			t.Errorf("PlanNamed(%q) = %+v, %v; want tier %s", c.in, p, ok, c.tier)
		}
	}
	if p, _ := PlanNamed("pro"); !p.Async {
		t.Error("pro must provision asynchronously")
	}
	for _, bad := range []string{"", "basic", "gold", "pro:"} {
		if _, ok := PlanNamed(bad); ok {
			t.Errorf("PlanNamed(%q) accepted", bad)
		}
	}
	good := []struct {
		opts map[string]any
		want target
	}{
		{nil, target{}},
		{map[string]any{"app": "My-App"}, target{appName: "my-app", backendURL: "https://my-app.herokuapp.com"}},
		{map[string]any{"backend_url": "https://api.example.com/"}, target{backendURL: "https://api.example.com"}},
		{map[string]any{"backend": "http://10.0.0.1:8080"}, target{backendURL: "http://10.0.0.1:8080"}},
		{map[string]any{"unrelated": 12, "tier": []any{"x"}}, target{}},
	}
	for _, c := range good {
		got, err := readOptions(c.opts)
		if err != nil || got != c.want {
			t.Errorf("readOptions(%v) = %+v, %v; want %+v", c.opts, got, err, c.want)
		}
	}
	for _, opts := range []map[string]any{
		{"app": 12}, {"app": "-bad"}, {"app": "has space"}, {"backend_url": "ftp://x"}, {"backend_url": "https://u:p@x.example"},
		{"backend_url": "/relative"}, {"backend_url": true},
	} {
		_, err := readOptions(opts)
		if r, ok := err.(*Refusal); !ok || r.Status != http.StatusUnprocessableEntity {
			t.Errorf("readOptions(%v) error = %v, want a 422 refusal", opts, err)
		}
	}
}

func TestParseHerokuTime(t *testing.T) {
	for _, in := range []string{"2016-03-03T18:01:31-0800", "2016-03-04T02:01:31Z", "2016-03-03T18:01:31-08:00"} {
		got, ok := parseHerokuTime(in)
		if !ok || !got.Equal(time.Date(2016, 3, 4, 2, 1, 31, 0, time.UTC)) {
			t.Errorf("parseHerokuTime(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := parseHerokuTime("soon"); ok {
		t.Error("parseHerokuTime accepted garbage")
	}
}

func TestTruncateKeepsCharactersWhole(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aé", 2, "a"}, {"aé", 3, "aé"}, {"日本", 4, "日"}} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
