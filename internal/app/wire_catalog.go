package app

import (
	"context"
	"fmt"
	"portico/internal/gateway/transform"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/publisher"
)

// wireCatalog adds the catalog's /api/v1 routes and the publisher UI.
func (a *App) wireCatalog(w *web) error {
	a.catalog = catalog.NewService(a.store, a.accounts, a.keyring, a.log, catalog.Options{BaseURL: a.cfg.BaseURL,
		CheckTransforms: func(rules string) error { _, err := transform.Parse(rules); return err }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	org, err := a.accounts.FirstOrg(ctx)
	if err != nil {
		return fmt.Errorf("app: catalog: %w", err)
	}
	if err := a.catalog.EnsureTiers(ctx, org.ID); err != nil {
		return fmt.Errorf("app: catalog: built-in tiers: %w", err)
	}
	catalog.NewHandlers(a.catalog).Register(w.e, w.api, w.authenticate)

	// Spec uploads and the OpenAPI editor post documents of up to
	// catalog.MaxSpecBytes: those two routes get the browser middleware with a
	// larger body limit in place of the 1 MB one.
	large := []echo.MiddlewareFunc{middleware.BodyLimit("13M"), w.csrf.Middleware(), w.accounts.LoadSession(),
		w.accounts.RequireRole(account.RoleAdmin, account.RolePublisher)}
	publisher.NewPages(a.catalog, w.accounts, w.r).Register(w.e.Group("/publisher", w.browser...), w.e, large)
	return nil
}

// Catalog exposes the catalog service (tests, other modules' wiring).
func (a *App) Catalog() *catalog.Service { return a.catalog }
