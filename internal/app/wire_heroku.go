package app

import (
	"context"

	"portico/internal/heroku"
)

// wireHeroku adds the Heroku add-on: the partner API at /heroku/resources and
// single sign-on at /heroku/sso. Without HEROKU_ADDON_ID, HEROKU_ADDON_PASSWORD
// and HEROKU_SSO_SALT nothing is added, so /heroku/* answers 404.
func (a *App) wireHeroku(w *web) error {
	if a.gatewayOnly || !a.cfg.Heroku.Enabled() {
		return nil
	}
	a.heroku = heroku.NewService(a.store, a.accounts, a.catalog, a.keyring, a.log, heroku.Options{
		Heroku: a.cfg.Heroku, BaseURL: a.cfg.BaseURL,
	})
	heroku.NewHandlers(a.heroku, w.accounts).Register(w.e)
	return nil
}

// startHerokuWorker runs the add-on's provisioning jobs until ctx ends.
func (a *App) startHerokuWorker(ctx context.Context) {
	if a.heroku == nil {
		return
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.heroku.Run(ctx)
	}()
}

// Heroku exposes the add-on service (tests); nil when the add-on is off.
func (a *App) Heroku() *heroku.Service { return a.heroku }
