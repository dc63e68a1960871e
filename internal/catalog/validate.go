package catalog

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"portico/internal/platform/apperr"
)

// Limits on what publishers type.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 20000
	MaxTags           = 20
	MaxTagLen         = 40
	MaxEndpoints      = 10
	MaxScopes         = 50
	MinTimeoutMS      = 100
	MaxTimeoutMS      = 300000
	DefaultTimeoutMS  = 30000
	// DefaultMaxRequestBytes and MaxMaxRequestBytes bound max_request_bytes:
	// 0 takes the default; above the maximum a publisher should stream the
	// upload to the backend some other way than through one gateway call.
	DefaultMaxRequestBytes = 10 << 20
	MaxMaxRequestBytes     = 1 << 30
	MaxDocumentLen         = 200000
)

var (
	contextRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
	scopeRE   = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,100}$`) // RFC 6749 scope-token
	headerRE  = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,100}$`)
)

// NormContext turns what a publisher typed ("/Pets") into a context ("pets")
// and checks it: one path segment of lower-case letters, digits, '-' or '_',
// never a reserved word.
func NormContext(raw string) (string, error) {
	c := strings.ToLower(strings.Trim(strings.TrimSpace(raw), "/"))
	switch {
	case c == "":
		return "", apperr.Invalid("context", "invalid_context", "Give the API a context: the first path segment it is reached at, such as pets.")
	case IsReserved(c):
		return "", apperr.Invalid("context", "reserved_context", fmt.Sprintf("The context %q is reserved by Portico; choose another.", c))
	case !contextRE.MatchString(c):
		return "", apperr.Invalid("context", "invalid_context", "The context must be one path segment of 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter or digit.")
	}
	return c, nil
}

// CheckVersion checks an API version such as v1 or 1.0.0.
func CheckVersion(v string) (string, error) {
	v = strings.TrimSpace(v)
	if !versionRE.MatchString(v) {
		return "", apperr.Invalid("version", "invalid_version", "The version must be 1 to 32 letters, digits, '.', '-' or '_', such as v1 or 1.0.0.")
	}
	return v, nil
}

func checkName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if n == "" || len(n) > MaxNameLen {
		return "", apperr.Invalid("name", "invalid_name", fmt.Sprintf("Give the API a name of 1 to %d characters.", MaxNameLen))
	}
	return n, nil
}

func checkDescription(d string) (string, error) {
	d = strings.TrimSpace(d)
	if len(d) > MaxDescriptionLen {
		return "", apperr.Invalid("description", "invalid_description", fmt.Sprintf("The description is longer than %d characters.", MaxDescriptionLen))
	}
	return d, nil
}

func checkTags(tags []string) ([]string, error) {
	out := []string{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(out, t) {
			continue
		}
		if len(t) > MaxTagLen {
			return nil, apperr.Invalid("tags", "invalid_tags", fmt.Sprintf("Tags are at most %d characters; %q is longer.", MaxTagLen, t))
		}
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, apperr.Invalid("tags", "invalid_tags", fmt.Sprintf("An API has at most %d tags.", MaxTags))
	}
	return out, nil
}

// checkBackendURL checks one backend endpoint: an absolute http(s) URL.
func checkBackendURL(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", apperr.Invalid(field, "invalid_backend_url", fmt.Sprintf("The backend URL %q must be an absolute http:// or https:// URL without credentials, such as https://backend.example.com/v1.", raw))
	}
	return strings.TrimRight(raw, "/"), nil
}

func checkEndpoints(urls []string) ([]Endpoint, error) {
	out := []Endpoint{}
	for _, raw := range urls {
		if strings.TrimSpace(raw) == "" {
			continue
		}
		u, err := checkBackendURL("endpoints", raw)
		if err != nil {
			return nil, err
		}
		out = append(out, Endpoint{URL: u})
	}
	if len(out) > MaxEndpoints {
		return nil, apperr.Invalid("endpoints", "invalid_endpoints", fmt.Sprintf("An API has at most %d backend endpoints.", MaxEndpoints))
	}
	return out, nil
}

func checkBalance(b string) (string, error) {
	switch b {
	case "", "failover":
		return "failover", nil
	case "round_robin":
		return b, nil
	}
	return "", apperr.Invalid("balance", "invalid_balance", "balance must be failover or round_robin.")
}

// Auth types.
const (
	AuthOAuth2 = "oauth2"
	AuthAPIKey = "api_key"
)

func checkAuthTypes(in []string) ([]string, error) {
	out := []string{}
	for _, a := range in {
		a = strings.TrimSpace(a)
		if a == "" || a == "none" {
			continue
		}
		if a != AuthOAuth2 && a != AuthAPIKey {
			return nil, apperr.Invalid("auth", "invalid_auth", fmt.Sprintf("auth may hold oauth2 and api_key (an empty list means no credentials); %q is unknown.", a))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func checkVisibility(v string) (string, error) {
	switch v {
	case "", "public":
		return "public", nil
	case "private":
		return v, nil
	}
	return "", apperr.Invalid("visibility", "invalid_visibility", "visibility must be public (anyone on the portal) or private (signed-in members of the organisation).")
}

func checkApproval(v string) (string, error) {
	switch v {
	case "", "auto":
		return "auto", nil
	case "manual":
		return v, nil
	}
	return "", apperr.Invalid("approval", "invalid_approval", "approval must be auto (subscriptions are active at once) or manual (an admin approves each).")
}

func checkTimeout(ms int) (int, error) {
	if ms == 0 {
		return DefaultTimeoutMS, nil
	}
	if ms < MinTimeoutMS || ms > MaxTimeoutMS {
		return 0, apperr.Invalid("timeout_ms", "invalid_timeout", fmt.Sprintf("timeout_ms must be from %d to %d.", MinTimeoutMS, MaxTimeoutMS))
	}
	return ms, nil
}

func checkMaxRequestBytes(n int64) (int64, error) {
	if n == 0 {
		return DefaultMaxRequestBytes, nil
	}
	if n < 0 || n > MaxMaxRequestBytes {
		return 0, apperr.Invalid("max_request_bytes", "invalid_max_request_bytes", fmt.Sprintf("max_request_bytes must be from 1 to %d (1 GiB); 0 means the default, %d (10 MiB).", MaxMaxRequestBytes, DefaultMaxRequestBytes))
	}
	return n, nil
}

func checkCORS(c CORS) (CORS, error) {
	clean := func(xs []string) []string {
		out := []string{}
		for _, x := range xs {
			if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		return out
	}
	c.AllowOrigins, c.AllowMethods, c.AllowHeaders = clean(c.AllowOrigins), clean(c.AllowMethods), clean(c.AllowHeaders)
	for _, o := range c.AllowOrigins {
		if o == "*" {
			if c.AllowCredentials {
				return c, apperr.Invalid("cors", "invalid_cors", "Browsers refuse credentials with the origin *; list the origins instead.")
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, apperr.Invalid("cors", "invalid_cors", fmt.Sprintf("The origin %q must look like https://app.example.com.", o))
		}
	}
	for i, m := range c.AllowMethods {
		m = strings.ToUpper(m)
		if !slices.Contains(Methods, m) {
			return c, apperr.Invalid("cors", "invalid_cors", fmt.Sprintf("The method %q is not an HTTP method Portico routes.", m))
		}
		c.AllowMethods[i] = m
	}
	if c.MaxAge < 0 || c.MaxAge > 86400 {
		return c, apperr.Invalid("cors", "invalid_cors", "cors.max_age is from 0 to 86400 seconds.")
	}
	return c, nil
}

// Methods are the HTTP methods an operation may have.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// Periods a limit counts over.
var Periods = []string{"second", "minute", "hour", "day", "month"}

func checkMethod(m string) (string, error) {
	m = strings.ToUpper(strings.TrimSpace(m))
	if !slices.Contains(Methods, m) {
		return "", apperr.Invalid("method", "invalid_method", "method must be one of "+strings.Join(Methods, ", ")+".")
	}
	return m, nil
}

var pathParamRE = regexp.MustCompile(`\{[^{}/]*\}`)

// checkPath checks an operation's path template: starting with '/', parameters
// in braces with names, no query string.
func checkPath(p string) (string, error) {
	p = strings.TrimSpace(p)
	bad := func(why string) (string, error) {
		return "", apperr.Invalid("path", "invalid_path", "The path template "+why+", such as /pets/{id}.")
	}
	if !strings.HasPrefix(p, "/") || len(p) > 500 {
		return bad("must start with / and be at most 500 characters")
	}
	if strings.ContainsAny(p, "?# \t\r\n") {
		return bad("holds no query, fragment or spaces")
	}
	rest := pathParamRE.ReplaceAllStringFunc(p, func(m string) string {
		if m == "{}" {
			return "\x00"
		}
		return ""
	})
	if strings.ContainsAny(rest, "{}\x00") {
		return bad("names each parameter in matched braces")
	}
	return p, nil
}

func checkScopes(in []string) ([]string, error) {
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || slices.Contains(out, s) {
			continue
		}
		if !scopeRE.MatchString(s) {
			return nil, apperr.Invalid("scopes", "invalid_scope", fmt.Sprintf("The scope %q may hold no spaces, quotes or backslashes.", s))
		}
		out = append(out, s)
	}
	if len(out) > MaxScopes {
		return nil, apperr.Invalid("scopes", "invalid_scope", fmt.Sprintf("An operation has at most %d scopes.", MaxScopes))
	}
	return out, nil
}

// checkLimit checks an operation's own limit (0 requests: none) or a tier's.
func checkLimit(field string, requests int64, per string, allowNone bool) (int64, string, error) {
	if requests < 0 {
		return 0, "", apperr.Invalid(field, "invalid_limit", "The number of requests cannot be negative.")
	}
	if requests == 0 && allowNone {
		return 0, "", nil
	}
	if per == "" {
		per = "minute"
	}
	if !slices.Contains(Periods, per) {
		return 0, "", apperr.Invalid(field, "invalid_limit", "per must be one of "+strings.Join(Periods, ", ")+".")
	}
	return requests, per, nil
}
