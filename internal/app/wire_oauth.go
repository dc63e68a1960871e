package app

import (
	"context"
	"time"

	"github.com/labstack/echo/v4/middleware"

	"portico/internal/access"
	"portico/internal/oauth"
)

// oauthJanitorEvery is how often expired OAuth rows are swept.
const oauthJanitorEvery = 10 * time.Minute

// wireOAuth adds applications (/api/v1/applications) and the OAuth 2.0 server
// (/oauth2, /.well-known). Applications are the server's clients.
func (a *App) wireOAuth(w *web) error {
	hasher := access.NewSecretHasher(a.keyring.Key("client-secret-pepper"))
	a.access = access.NewService(a.store, a.accounts, a.catalog, hasher, a.log)
	access.NewAPI(a.access).Register(w.api, w.authenticate)

	srv, err := oauth.New(a.store, a.access, w.accounts, w.r, oauth.Config{
		Issuer:       a.cfg.BaseURL,
		GlobalSecret: a.keyring.Key("oauth-global"),
		Sealer:       a.keyring.Sealer("oauth-signing-keys"),
		Hasher:       hasher,
	}, a.log)
	if err != nil {
		return err
	}
	a.oauth = srv
	// Token, introspection and revocation authenticate the client, not a
	// browser: no CSRF, no session. The authorization endpoint is a browser page.
	srv.RegisterEndpoints(w.e.Group("/oauth2", middleware.BodyLimit("64K")), w.e.Group("/.well-known"))
	srv.RegisterAuthorize(w.e, w.browser)
	return nil
}

// startOAuthJanitor sweeps expired codes, tokens, revoked-list entries and
// retired signing keys until ctx ends.
func (a *App) startOAuthJanitor(ctx context.Context) {
	if a.oauth == nil {
		return
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		// The signing key is made at start, not with the first token: a key
		// made then reaches the gateways tens of milliseconds after the token
		// it signed, and the first calls with it were refused (the soak saw 55).
		if _, err := a.oauth.Keys().Current(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("oauth: no signing key yet; the first token request will make one", "err", err)
		}
		a.oauth.RunJanitor(ctx, oauthJanitorEvery)
	}()
}

// OAuth exposes the OAuth server (tests: key rotation, the janitor).
func (a *App) OAuth() *oauth.Server { return a.oauth }

// Access exposes the access service (tests, other modules' wiring).
func (a *App) Access() *access.Service { return a.access }
