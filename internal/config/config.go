package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Config is the whole of Portico's configuration, read once at start.
type Config struct {
	// Port is the one listener's TCP port.
	Port int
	// Database says which database to open.
	Database Database
	// RedisURL, when set, shares rate-limit counters across nodes.
	RedisURL string
	// GatewayNodes is how many gateway nodes share the limits: while Redis is
	// unreachable each node admits its share (limit / GatewayNodes) alone.
	GatewayNodes int
	// BaseURL is the public URL, without a trailing slash.
	BaseURL string
	// Secret signs cookies and CSRF tokens and keys the OAuth server. Empty means
	// "generate one and keep it in the database" (the app resolves it at start).
	Secret Secret
	// Admin is the first administrator, created when there are no users.
	Admin Admin
	// Stripe configures billing.
	Stripe Stripe
	// Heroku configures the add-on partner API.
	Heroku Heroku
	// SMTPURL sends alert e-mails when set.
	SMTPURL string
	// Log configures the logger.
	Log Log
}

// Database names the driver and the data source. Driver is "postgres" or "sqlite".
type Database struct {
	Driver string
	// DSN is what the driver opens: the postgres URL as given, or the SQLite file path.
	DSN string
}

// Admin holds the bootstrap administrator's credentials.
type Admin struct {
	Email    string
	Password Secret
}

// Stripe holds billing credentials. Billing of paid tiers is off without SecretKey.
type Stripe struct {
	SecretKey     Secret
	WebhookSecret Secret
	APIBase       string
}

// Heroku holds the add-on partner credentials. The add-on API is off unless Enabled.
type Heroku struct {
	AddonID       string
	AddonPassword Secret
	SSOSalt       Secret
	ClientSecret  Secret
	APIBase       string
	IDBase        string
}

// Enabled reports whether the partner API should answer (CONTRACT §2: unset → 404).
func (h Heroku) Enabled() bool {
	return h.AddonID != "" && h.AddonPassword != "" && h.SSOSalt != ""
}

// Log configures log/slog.
type Log struct {
	Level  slog.Level
	Format string // "text" or "json"
}

// Secret is a string that never prints itself: logs and %v show a redaction.
type Secret string

// String implements fmt.Stringer with a redaction.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue implements slog.LogValuer with a redaction.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret's value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// MinSecretLen is the shortest PORTICO_SECRET accepted (fosite needs 32 bytes).
const MinSecretLen = 32

// Default values of CONTRACT §2.
const (
	DefaultPort          = 8080
	DefaultDatabaseURL   = "sqlite:data/portico.db"
	DefaultStripeAPIBase = "https://api.stripe.com"
	DefaultHerokuAPIBase = "https://api.heroku.com"
	DefaultHerokuIDBase  = "https://id.heroku.com"
)

// Load reads the configuration through getenv (os.Getenv in production, a map in
// tests). The first problem found is returned as an error naming the variable.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	var problems []string
	fail := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}

	c.Port = DefaultPort
	if v := strings.TrimSpace(getenv("PORT")); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			fail("PORT", "%q is not a port number (1-65535)", v)
		} else {
			c.Port = p
		}
	}

	dbURL := strings.TrimSpace(getenv("DATABASE_URL"))
	if dbURL == "" {
		dbURL = DefaultDatabaseURL
	}
	if db, err := ParseDatabaseURL(dbURL); err != nil {
		fail("DATABASE_URL", "%v", err)
	} else {
		c.Database = db
	}

	if v := strings.TrimSpace(getenv("REDIS_URL")); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			fail("REDIS_URL", "must look like redis://[:password@]host:port[/db] or rediss://…")
		} else {
			c.RedisURL = v
		}
	}

	c.GatewayNodes = 1
	if v := strings.TrimSpace(getenv("PORTICO_GATEWAY_NODES")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail("PORTICO_GATEWAY_NODES", "%q is not a node count (1-1000)", v)
		} else {
			c.GatewayNodes = n
		}
	}

	c.BaseURL = fmt.Sprintf("http://localhost:%d", c.Port)
	if v := strings.TrimSpace(getenv("PORTICO_BASE_URL")); v != "" {
		if err := checkHTTPURL(v); err != nil {
			fail("PORTICO_BASE_URL", "%v", err)
		} else {
			c.BaseURL = strings.TrimRight(v, "/")
		}
	}

	if v := getenv("PORTICO_SECRET"); v != "" {
		if len(v) < MinSecretLen {
			fail("PORTICO_SECRET", "must be at least %d bytes long (got %d); generate one with `openssl rand -hex 32`", MinSecretLen, len(v))
		} else {
			c.Secret = Secret(v)
		}
	}

	c.Admin.Email = strings.TrimSpace(getenv("PORTICO_ADMIN_EMAIL"))
	c.Admin.Password = Secret(getenv("PORTICO_ADMIN_PASSWORD"))
	if c.Admin.Email != "" && !LooksLikeEmail(c.Admin.Email) {
		fail("PORTICO_ADMIN_EMAIL", "%q is not an e-mail address", c.Admin.Email)
	}
	if c.Admin.Password != "" && len(c.Admin.Password) < MinPasswordLen {
		fail("PORTICO_ADMIN_PASSWORD", "must be at least %d characters long", MinPasswordLen)
	}

	c.Stripe.SecretKey = Secret(strings.TrimSpace(getenv("STRIPE_SECRET_KEY")))
	c.Stripe.WebhookSecret = Secret(strings.TrimSpace(getenv("STRIPE_WEBHOOK_SECRET")))
	c.Stripe.APIBase = baseURL(getenv, "STRIPE_API_BASE", DefaultStripeAPIBase, fail)
	if c.Stripe.SecretKey != "" && !strings.HasPrefix(string(c.Stripe.SecretKey), "sk_") && !strings.HasPrefix(string(c.Stripe.SecretKey), "rk_") {
		fail("STRIPE_SECRET_KEY", "must be a Stripe secret or restricted key (sk_… or rk_…)")
	}

	c.Heroku.AddonID = strings.TrimSpace(getenv("HEROKU_ADDON_ID"))
	c.Heroku.AddonPassword = Secret(getenv("HEROKU_ADDON_PASSWORD"))
	c.Heroku.SSOSalt = Secret(getenv("HEROKU_SSO_SALT"))
	c.Heroku.ClientSecret = Secret(getenv("HEROKU_CLIENT_SECRET"))
	c.Heroku.APIBase = baseURL(getenv, "HEROKU_API_BASE", DefaultHerokuAPIBase, fail)
	c.Heroku.IDBase = baseURL(getenv, "HEROKU_ID_BASE", DefaultHerokuIDBase, fail)
	set := 0
	for _, v := range []string{c.Heroku.AddonID, string(c.Heroku.AddonPassword), string(c.Heroku.SSOSalt)} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		fail("HEROKU_ADDON_ID", "HEROKU_ADDON_ID, HEROKU_ADDON_PASSWORD and HEROKU_SSO_SALT must be set together")
	}

	if v := strings.TrimSpace(getenv("SMTP_URL")); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			fail("SMTP_URL", "must look like smtp://user:pass@host:port")
		} else {
			c.SMTPURL = v
		}
	}

	c.Log.Level = slog.LevelInfo
	if v := strings.TrimSpace(getenv("LOG_LEVEL")); v != "" {
		switch strings.ToLower(v) {
		case "debug":
			c.Log.Level = slog.LevelDebug
		case "info":
			c.Log.Level = slog.LevelInfo
		case "warn", "warning":
			c.Log.Level = slog.LevelWarn
		case "error":
			c.Log.Level = slog.LevelError
		default:
			fail("LOG_LEVEL", "%q is not one of debug, info, warn, error", v)
		}
	}
	c.Log.Format = "text"
	if v := strings.TrimSpace(getenv("LOG_FORMAT")); v != "" {
		switch strings.ToLower(v) {
		case "text", "json":
			c.Log.Format = strings.ToLower(v)
		default:
			fail("LOG_FORMAT", "%q is not one of json, text", v)
		}
	}

	if len(problems) > 0 {
		// One line, so the process stops with a message an operator reads at once.
		return Config{}, errors.New(strings.Join(problems, "; "))
	}
	return c, nil
}

// MinPasswordLen is the shortest password a user may choose.
const MinPasswordLen = 8

// ParseDatabaseURL understands postgres://, postgresql:// (Heroku's form, sslmode
// honoured) and sqlite:PATH (sqlite://PATH and sqlite:///abs/path too).
func ParseDatabaseURL(raw string) (Database, error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return Database{}, errors.New("is not a valid postgres:// URL")
		}
		if u.Host == "" {
			return Database{}, errors.New("postgres URL has no host")
		}
		if mode := u.Query().Get("sslmode"); mode != "" {
			switch mode {
			case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
			default:
				return Database{}, fmt.Errorf("sslmode %q is not one of disable, allow, prefer, require, verify-ca, verify-full", mode)
			}
		}
		return Database{Driver: "postgres", DSN: raw}, nil
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(raw, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return Database{}, errors.New("sqlite: needs a file path, e.g. sqlite:data/portico.db")
		}
		return Database{Driver: "sqlite", DSN: path}, nil
	default:
		return Database{}, errors.New("must start with postgres:// or sqlite: (e.g. sqlite:data/portico.db)")
	}
}

// LooksLikeEmail is the light check used everywhere an e-mail address is entered:
// one @ with something on both sides and a dot in the domain, no spaces.
func LooksLikeEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || strings.ContainsAny(s, " \t\r\n<>\"") || len(s) > 254 {
		return false
	}
	domain := s[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func baseURL(getenv func(string) string, name, def string, fail func(string, string, ...any)) string {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def
	}
	if err := checkHTTPURL(v); err != nil {
		fail(name, "%v", err)
		return def
	}
	return strings.TrimRight(v, "/")
}

func checkHTTPURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q must be an absolute http:// or https:// URL", v)
	}
	return nil
}
