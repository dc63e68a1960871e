package access

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/platform/apperr"
	"portico/internal/platform/secrets"
	"portico/internal/store"
)

// Limits on what an application may hold.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 1000
	MaxCallbackURLs   = 10
	MaxCallbackURLLen = 2000
	MaxScopes         = 100
	MaxScopeLen       = 200
)

// Errors users see, by stable code.
var (
	ErrNotFound  = apperr.NotFound("application")
	ErrNameTaken = apperr.Conflict("application_name_taken", "You already have an application with that name; choose another.").WithField("name")
)

// Service is the access module's API to the rest of Portico.
type Service struct {
	st       *store.Store
	repo     repo
	accounts *account.Service
	catalog  *catalog.Service
	payments PaymentGate
	hasher   *SecretHasher
	log      *slog.Logger
	now      func() time.Time
}

// NewService returns the access service. hasher must be the one the OAuth server
// verifies client secrets with.
func NewService(st *store.Store, accounts *account.Service, cat *catalog.Service, hasher *SecretHasher, log *slog.Logger) *Service {
	return &Service{st: st, repo: repo{st}, accounts: accounts, catalog: cat, hasher: hasher, log: log,
		now: func() time.Time { return time.Now().UTC() }}
}

// SetPaymentGate lets billing take part in subscriptions to paid tiers.
func (s *Service) SetPaymentGate(g PaymentGate) { s.payments = g }

// Hasher is the client-secret hasher.
func (s *Service) Hasher() *SecretHasher { return s.hasher }

// NewApplication is what a developer gives to register an application.
type NewApplication struct {
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	CallbackURLs []string `json:"callback_urls"`
	// Public marks a client that cannot keep a secret (a browser or native app):
	// it gets no secret and must use the authorization code grant with PKCE.
	Public bool `json:"public"`
	// GrantTypes default to every grant the client type allows.
	GrantTypes []string `json:"grant_types"`
	// Scopes the application may ask for; default any well-formed scope.
	Scopes []string `json:"scopes"`
	// Tier is the application-level limit: Unlimited (default), 10PerMin,
	// 20PerMin or 50PerMin.
	Tier string `json:"tier"`
}

// Create registers an application owned by the caller and returns it with its
// client secret, which is shown once (empty for public clients).
func (s *Service) Create(ctx context.Context, actor account.Principal, in NewApplication) (Application, string, error) {
	app, err := s.validate(in)
	if err != nil {
		return Application{}, "", err
	}
	now := s.now()
	app.ID = account.NewID()
	app.OrgID, app.OwnerID = actor.OrgID, actor.UserID
	app.ClientID = secrets.Token("app_", 18)
	app.CreatedAt, app.UpdatedAt = now, now
	var secret string
	if !app.Public {
		secret = secrets.Token("cs_", 32)
		app.ClientSecretHash = s.hasher.Hash([]byte(secret))
	}
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.repo.create(ctx, &app); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, actor, "application.create", "application", app.ID,
			map[string]any{"name": app.Name, "client_id": app.ClientID, "public": app.Public})
	})
	if err != nil {
		return Application{}, "", err
	}
	return app, secret, nil
}

// scopeRE is the shape of a scope until the catalog defines them per operation.
var scopeRE = regexp.MustCompile(`^[a-z0-9:._-]+$`)

// ValidScope reports whether s is a well-formed scope name.
func ValidScope(s string) bool { return len(s) <= MaxScopeLen && scopeRE.MatchString(s) }

func (s *Service) validate(in NewApplication) (Application, error) {
	app := Application{Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description), Public: in.Public}
	tier, err := checkAppTier(in.Tier)
	if err != nil {
		return app, err
	}
	app.Tier = tier
	if app.Name == "" || len(app.Name) > MaxNameLen {
		return app, apperr.Invalid("name", "invalid_name", fmt.Sprintf("Give the application a name of 1 to %d characters.", MaxNameLen))
	}
	if len(app.Description) > MaxDescriptionLen {
		return app, apperr.Invalid("description", "invalid_description", fmt.Sprintf("The description is at most %d characters.", MaxDescriptionLen))
	}
	if len(in.CallbackURLs) > MaxCallbackURLs {
		return app, apperr.Invalid("callback_urls", "too_many_callback_urls", fmt.Sprintf("An application has at most %d callback URLs.", MaxCallbackURLs))
	}
	app.CallbackURLs = StringList{}
	for _, u := range in.CallbackURLs {
		u = strings.TrimSpace(u)
		if err := checkCallbackURL(u); err != nil {
			return app, err
		}
		app.CallbackURLs = append(app.CallbackURLs, u)
	}

	grants := in.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode, GrantRefreshToken}
		if !in.Public {
			grants = append([]string{GrantClientCredentials}, grants...)
		}
	}
	seen := map[string]bool{}
	for _, g := range grants {
		switch g {
		case GrantClientCredentials, GrantAuthorizationCode, GrantRefreshToken:
		default:
			return app, apperr.Invalid("grant_types", "invalid_grant_type", "grant_types may hold client_credentials, authorization_code and refresh_token (implicit and password are not offered).")
		}
		if !seen[g] {
			seen[g] = true
			app.GrantTypes = append(app.GrantTypes, g)
		}
	}
	if in.Public && seen[GrantClientCredentials] {
		return app, apperr.Invalid("grant_types", "invalid_grant_type", "A public client has no secret, so it cannot use client_credentials.")
	}

	if len(in.Scopes) > MaxScopes {
		return app, apperr.Invalid("scopes", "too_many_scopes", fmt.Sprintf("An application may list at most %d scopes.", MaxScopes))
	}
	app.AllowedScopes = StringList{}
	for _, sc := range in.Scopes {
		if sc != AnyScope && !ValidScope(sc) {
			return app, apperr.Invalid("scopes", "invalid_scope", "Scopes are lower-case letters, digits and : . _ - (or * for any).")
		}
		app.AllowedScopes = append(app.AllowedScopes, sc)
	}
	if len(app.AllowedScopes) == 0 {
		app.AllowedScopes = StringList{AnyScope}
	}
	return app, nil
}

// checkCallbackURL accepts what the OAuth server will redirect to: absolute
// https URLs, http only on loopback or localhost (RFC 8252 §7.3), or a native
// app's private-use scheme in reverse-domain form (RFC 8252 §7.1); never a fragment.
func checkCallbackURL(raw string) error {
	bad := apperr.Invalid("callback_urls", "invalid_callback_url",
		"Callback URLs must be absolute https URLs (http only for localhost or 127.0.0.1), without a #fragment.")
	if raw == "" || len(raw) > MaxCallbackURLLen {
		return bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || strings.Contains(raw, "#") || u.Scheme == "" {
		return bad
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return bad
		}
	case "http":
		h := u.Hostname()
		ip := net.ParseIP(h)
		if h != "localhost" && !strings.HasSuffix(h, ".localhost") && (ip == nil || !ip.IsLoopback()) {
			return bad
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return bad
		}
	}
	return nil
}

// scope returns the owner filter for actor: admins see every application of
// their organisation, everyone else only their own.
func scope(actor account.Principal) string {
	if actor.Is(account.RoleAdmin) {
		return ""
	}
	return actor.UserID
}

// Get returns one application the caller may see; any other answers not found.
func (s *Service) Get(ctx context.Context, actor account.Principal, id string) (Application, error) {
	return s.repo.byID(ctx, actor.OrgID, scope(actor), id)
}

// List returns up to limit applications the caller may see, by id after after.
func (s *Service) List(ctx context.Context, actor account.Principal, after string, limit int) ([]Application, error) {
	return s.repo.list(ctx, actor.OrgID, scope(actor), after, limit)
}

// Delete removes an application with its tokens. The gateway stops accepting
// its credentials at the next snapshot.
func (s *Service) Delete(ctx context.Context, actor account.Principal, id string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		app, err := s.repo.byID(ctx, actor.OrgID, scope(actor), id)
		if err != nil {
			return err
		}
		if err := s.repo.delete(ctx, app.OrgID, app.ID); err != nil {
			return err
		}
		if err := s.accounts.Audit(ctx, actor, "application.delete", "application", app.ID,
			map[string]any{"name": app.Name, "client_id": app.ClientID}); err != nil {
			return err
		}
		_, err = s.st.BumpConfigVersion(ctx)
		return err
	})
}

// RotateSecret gives a confidential application a new client secret, shown once;
// the old one stops working at once.
func (s *Service) RotateSecret(ctx context.Context, actor account.Principal, id string) (Application, string, error) {
	var app Application
	secret := secrets.Token("cs_", 32)
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		app, err = s.repo.byID(ctx, actor.OrgID, scope(actor), id)
		if err != nil {
			return err
		}
		if app.Public {
			return apperr.Conflict("public_client", "A public client has no secret to rotate.")
		}
		app.ClientSecretHash = s.hasher.Hash([]byte(secret))
		app.UpdatedAt = s.now()
		if err := s.repo.setSecretHash(ctx, app.OrgID, app.ID, app.ClientSecretHash, app.UpdatedAt); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, actor, "application.rotate_secret", "application", app.ID, nil)
	})
	if err != nil {
		return Application{}, "", err
	}
	return app, secret, nil
}

// ClientByID finds an application by its OAuth client_id, across organisations
// (the OAuth server authenticates the caller afterwards).
func (s *Service) ClientByID(ctx context.Context, clientID string) (Application, error) {
	if clientID == "" || len(clientID) > 100 {
		return Application{}, ErrNotFound
	}
	return s.repo.byClientID(ctx, clientID)
}
