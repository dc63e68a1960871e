package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"

	"portico/internal/access"
	"portico/internal/account"
	"portico/internal/platform/render"
	"portico/internal/platform/secrets"
	"portico/internal/store"
)

// Default lifetimes.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultCodeTTL         = 10 * time.Minute
)

// Config is what the OAuth server is built from.
type Config struct {
	// Issuer is PORTICO_BASE_URL: the "iss" of every token, and the default
	// audience (the gateway serves APIs under it).
	Issuer string
	// GlobalSecret keys the HMAC codes and refresh tokens; at least 32 bytes.
	GlobalSecret []byte
	// Sealer encrypts signing keys at rest.
	Sealer *secrets.Sealer
	// Hasher verifies client secrets (the access module's).
	Hasher *access.SecretHasher
	// Algorithm signs access tokens: RS256 (default) or ES256.
	Algorithm                                string
	AccessTokenTTL, RefreshTokenTTL, CodeTTL time.Duration
}

// Server is the OAuth 2.0 authorization server.
type Server struct {
	cfg      Config
	provider fosite.OAuth2Provider
	storage  *Storage
	keys     *Keys
	apps     Applications
	web      *account.Web
	r        *render.Renderer
	log      *slog.Logger
}

// New composes the fosite provider over Portico's storage. web and r render the
// consent page; apps is the access module.
func New(st *store.Store, apps Applications, web *account.Web, r *render.Renderer, cfg Config, log *slog.Logger) (*Server, error) {
	if len(cfg.GlobalSecret) < 32 {
		return nil, errors.New("oauth: the global secret must hold at least 32 bytes")
	}
	if cfg.Issuer == "" || cfg.Sealer == nil || cfg.Hasher == nil {
		return nil, errors.New("oauth: issuer, sealer and hasher are required")
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = RS256
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL <= 0 {
		cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	keys, err := NewKeys(st, cfg.Sealer, cfg.Algorithm, cfg.AccessTokenTTL, log)
	if err != nil {
		return nil, err
	}
	storage := NewStorage(st, apps, []string{cfg.Issuer})

	fc := &fosite.Config{
		AccessTokenLifespan:            cfg.AccessTokenTTL,
		RefreshTokenLifespan:           cfg.RefreshTokenTTL,
		AuthorizeCodeLifespan:          cfg.CodeTTL,
		AccessTokenIssuer:              cfg.Issuer,
		TokenURL:                       cfg.Issuer + "/oauth2/token",
		GlobalSecret:                   cfg.GlobalSecret,
		ClientSecretsHasher:            secretHasher{cfg.Hasher},
		ScopeStrategy:                  scopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		EnforcePKCE:                    true, // OAuth 2.1: every authorization code flow, public or not
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		JWTScopeClaimKey:               jwt.JWTScopeFieldString, // "scope": "a b" (RFC 9068 §2.2.3)
		SanitationWhiteList:            []string{"redirect_uri"},
		SendDebugMessagesToClients:     false,
		MinParameterEntropy:            fosite.MinParameterEntropy,
	}
	hmacStrategy := compose.NewOAuth2HMACStrategy(fc)
	strategy := &tokenStrategy{DefaultJWTStrategy: &oauth2.DefaultJWTStrategy{
		Signer:          keySigner{keys: keys},
		HMACSHAStrategy: hmacStrategy,
		Config:          fc,
	}}
	provider, err := composeProvider(fc, storage, strategy)
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, provider: provider, storage: storage, keys: keys, apps: apps, web: web, r: r, log: log}, nil
}

// composeProvider turns fosite's start-time panics (a storage or strategy
// missing an interface a handler needs) into an error.
func composeProvider(fc *fosite.Config, storage *Storage, strategy *tokenStrategy) (p fosite.OAuth2Provider, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("oauth: compose fosite: %v", r)
		}
	}()
	return compose.Compose(fc, storage, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	), nil
}

// Keys is the signing key set (rotation, JWKS).
func (s *Server) Keys() *Keys { return s.keys }

// Issuer is the issuer URL.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// RunJanitor deletes expired codes, tokens, revoked-list entries and retired keys
// every interval, in batches, until ctx ends.
func (s *Server) RunJanitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// janitorBatch bounds each delete so a large backlog never holds long locks.
const janitorBatch = 500

// Sweep runs one janitor pass and returns how many rows went.
func (s *Server) Sweep(ctx context.Context) int64 {
	var total int64
	for ctx.Err() == nil {
		n, err := s.storage.deleteExpired(ctx, s.storage.now(), janitorBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "expired OAuth rows clean-up failed", "err", err)
			}
			break
		}
		if n < janitorBatch {
			break
		}
	}
	return total
}
