package config

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.Database.Driver != "sqlite" || c.Database.DSN != "data/portico.db" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.BaseURL != "http://localhost:8080" || c.Log.Level != slog.LevelInfo || c.Log.Format != "text" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Stripe.APIBase != DefaultStripeAPIBase || c.Heroku.Enabled() || c.RedisURL != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PORT":                   "5000",
		"DATABASE_URL":           "postgres://u:p@db.example.com:5432/app?sslmode=require",
		"REDIS_URL":              "redis://:pw@localhost:6379/0",
		"PORTICO_BASE_URL":       "https://api.example.com/",
		"PORTICO_SECRET":         strings.Repeat("s", 32),
		"PORTICO_ADMIN_EMAIL":    "ops@example.com",
		"PORTICO_ADMIN_PASSWORD": "correct horse",
		"STRIPE_SECRET_KEY":      "sk_test_123",
		"STRIPE_API_BASE":        "http://127.0.0.1:12111",
		"HEROKU_ADDON_ID":        "portico",
		"HEROKU_ADDON_PASSWORD":  "pw",
		"HEROKU_SSO_SALT":        "salt",
		"LOG_LEVEL":              "DEBUG",
		"LOG_FORMAT":             "json",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 5000 || c.BaseURL != "https://api.example.com" || c.Database.Driver != "postgres" {
		t.Fatalf("got %+v", c)
	}
	if !strings.Contains(c.Database.DSN, "sslmode=require") {
		t.Fatalf("sslmode lost: %s", c.Database.DSN)
	}
	if !c.Heroku.Enabled() || c.Log.Level != slog.LevelDebug || c.Log.Format != "json" {
		t.Fatalf("got %+v", c)
	}
	if c.Stripe.APIBase != "http://127.0.0.1:12111" {
		t.Fatalf("stripe base %q", c.Stripe.APIBase)
	}
}

func TestBaseURLFollowsPort(t *testing.T) {
	c, err := Load(env(map[string]string{"PORT": "9090"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "http://localhost:9090" {
		t.Fatalf("base url %q", c.BaseURL)
	}
}

func TestLoadRejectsBadValuesNamingTheVariable(t *testing.T) {
	cases := []struct {
		name, key, value string
	}{
		{"port not a number", "PORT", "eighty"},
		{"port out of range", "PORT", "70000"},
		{"unknown database scheme", "DATABASE_URL", "mysql://x"},
		{"sqlite without path", "DATABASE_URL", "sqlite:"},
		{"bad sslmode", "DATABASE_URL", "postgres://h/db?sslmode=sometimes"},
		{"redis url not redis", "REDIS_URL", "http://localhost:6379"},
		{"base url relative", "PORTICO_BASE_URL", "example.com"},
		{"secret too short", "PORTICO_SECRET", "short"},
		{"admin e-mail invalid", "PORTICO_ADMIN_EMAIL", "not-an-email"},
		{"admin password short", "PORTICO_ADMIN_PASSWORD", "abc"},
		{"stripe key wrong kind", "STRIPE_SECRET_KEY", "pk_test_123"},
		{"stripe base not a url", "STRIPE_API_BASE", "localhost:12111"},
		{"heroku partial", "HEROKU_ADDON_ID", "portico"},
		{"smtp wrong scheme", "SMTP_URL", "http://mail"},
		{"log level unknown", "LOG_LEVEL", "verbose"},
		{"log format unknown", "LOG_FORMAT", "xml"},
		{"node count zero", "PORTICO_GATEWAY_NODES", "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{tc.key: tc.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.key, tc.value)
			}
			if !strings.HasPrefix(err.Error(), tc.key+": ") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line starting with %s", err, tc.key)
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	s := Secret("sk_live_very_secret")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s", s, s), s.LogValue().String()} {
		if strings.Contains(out, "very_secret") {
			t.Fatalf("secret printed: %q", out)
		}
	}
	if s.Reveal() != "sk_live_very_secret" {
		t.Fatal("reveal")
	}
}

func TestParseDatabaseURLForms(t *testing.T) {
	for in, want := range map[string]Database{
		"sqlite:data/p.db":                 {"sqlite", "data/p.db"},
		"sqlite:///tmp/p.db":               {"sqlite", "/tmp/p.db"},
		"postgresql://u@h:5432/d":          {"postgres", "postgresql://u@h:5432/d"},
		"postgres://u@h/d?sslmode=disable": {"postgres", "postgres://u@h/d?sslmode=disable"},
	} {
		got, err := ParseDatabaseURL(in)
		if err != nil || got != want {
			t.Errorf("%s: got %+v, %v; want %+v", in, got, err, want)
		}
	}
}
