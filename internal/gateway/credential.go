package gateway

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"portico/internal/gateway/snapshot"
)

// accessClaims are the RFC 9068 claims the gateway reads.
type accessClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// verifiedToken is what a verified access token yields; cached so a token is
// verified cryptographically once, not on every call.
type verifiedToken struct {
	clientID string
	scope    string
	jti      string
	expires  time.Time
}

var tokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.EdDSA}

// tokenCache remembers verified tokens until they expire. Revocation is still
// checked against the snapshot on every call. Bounded: when full it forgets
// entries (expired first), so a flood of distinct tokens cannot grow it.
// Entries are keyed by the token's SHA-256, not the token: a JWT is most of a
// kilobyte, and a full cache of them held over 100 MB (measured by the soak).
type tokenCache struct {
	mu  sync.RWMutex
	m   map[tokenKey]verifiedToken
	max int
}

type tokenKey [sha256.Size]byte

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: map[tokenKey]verifiedToken{}, max: max}
}

func keyOf(tok string) tokenKey { return sha256.Sum256([]byte(tok)) }

func (c *tokenCache) get(tok string, now time.Time) (verifiedToken, bool) {
	k := keyOf(tok)
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(v.expires) {
		return verifiedToken{}, false
	}
	return v, true
}

func (c *tokenCache) put(tok string, v verifiedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.expires) || len(c.m) >= c.max {
				delete(c.m, k)
			}
			if len(c.m) < c.max*3/4 {
				break
			}
		}
	}
	c.m[keyOf(tok)] = v
}

func (c *tokenCache) clear() {
	c.mu.Lock()
	c.m = map[tokenKey]verifiedToken{}
	c.mu.Unlock()
}

// verifyToken checks an access token's signature against the snapshot's keys,
// its issuer, audience and expiry. Revocation is checked by the caller.
func verifyToken(s *snapshot.Snapshot, raw string, now time.Time) (verifiedToken, bool) {
	tok, err := jwt.ParseSigned(raw, tokenAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return verifiedToken{}, false
	}
	key, ok := s.SigningKey(tok.Headers[0].KeyID)
	if !ok {
		return verifiedToken{}, false
	}
	if key.Algorithm != "" && key.Algorithm != tok.Headers[0].Algorithm {
		return verifiedToken{}, false
	}
	var c accessClaims
	if err := tok.Claims(key.Key, &c); err != nil {
		return verifiedToken{}, false
	}
	exp := jwt.Expected{Issuer: s.Issuer, Time: now}
	if s.Audience != "" {
		exp.AnyAudience = jwt.Audience{s.Audience}
	}
	if c.Expiry == nil || c.ClientID == "" {
		return verifiedToken{}, false
	}
	if err := c.ValidateWithLeeway(exp, 5*time.Second); err != nil {
		return verifiedToken{}, false
	}
	return verifiedToken{clientID: c.ClientID, scope: c.Scope, jti: c.ID, expires: c.Expiry.Time()}, true
}

// hasScopes reports whether the space-separated scope list holds every one of
// want, without allocating.
func hasScopes(scope string, want []string) bool {
	for _, w := range want {
		if !hasScope(scope, w) {
			return false
		}
	}
	return true
}

func hasScope(scope, w string) bool {
	for scope != "" {
		var s string
		s, scope, _ = strings.Cut(scope, " ")
		if s == w {
			return true
		}
	}
	return false
}

// keySum hashes an API key the way the access module stores it.
func keySum(key string) [32]byte { return sha256.Sum256([]byte(key)) }
