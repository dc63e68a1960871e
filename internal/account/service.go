package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"portico/internal/config"
	"portico/internal/platform/apperr"
	"portico/internal/platform/mail"
	"portico/internal/platform/secrets"
	"portico/internal/store"
)

// Lifetimes.
const (
	SessionTTL = 7 * 24 * time.Hour  // idle sessions end after a week
	TokenTTL   = 90 * 24 * time.Hour // personal access tokens live 90 days
	// touchEvery limits last-seen writes to one a minute per session or token.
	touchEvery = time.Minute
	// MaxPasswordLen bounds the work an attacker can make one hash cost.
	MaxPasswordLen = 1024
)

// Service is the account module's API to the rest of Portico.
type Service struct {
	st   *store.Store
	repo repo
	log  *slog.Logger
	now  func() time.Time
	// logins throttles password guessing per e-mail address.
	logins *throttle
	// mailer sends password-reset links (nil: no SMTP_URL, no e-mail);
	// baseURL is where the links point.
	mailer  *mail.Mailer
	baseURL string
	mailWG  sync.WaitGroup
}

// NewService returns the account service over st.
func NewService(st *store.Store, log *slog.Logger) *Service {
	now := func() time.Time { return time.Now().UTC() }
	return &Service{st: st, repo: repo{st}, log: log, now: now, logins: newThrottle(now)}
}

// NewID returns a new time-ordered id (UUIDv7), so ids sort by creation.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// DefaultOrgSlug is the slug of the organisation made on first start.
const DefaultOrgSlug = "default"

// EnsureDefaultOrg returns the first organisation, creating "Default" when there
// is none.
func (s *Service) EnsureDefaultOrg(ctx context.Context) (Organization, error) {
	o, err := s.repo.firstOrg(ctx)
	if !errors.Is(err, ErrOrgNotFound) {
		return o, err
	}
	o, err = s.CreateOrg(ctx, "Default", DefaultOrgSlug)
	if errors.Is(err, ErrSlugTaken) { // another process made it first
		return s.repo.orgBySlug(ctx, DefaultOrgSlug)
	}
	return o, err
}

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)

// reservedSlugs cannot name an organisation: they are paths under /portal.
var reservedSlugs = map[string]bool{"login": true, "logout": true, "signup": true, "static": true, "api": true, "apis": true, "applications": true, "account": true}

// CreateOrg makes an organisation. The slug becomes part of the portal URL.
func (s *Service) CreateOrg(ctx context.Context, name, slug string) (Organization, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Organization{}, apperr.Invalid("name", "invalid_name", "Give the organisation a name of 1 to 100 characters.")
	}
	if !slugRE.MatchString(slug) || reservedSlugs[slug] {
		return Organization{}, apperr.Invalid("slug", "invalid_slug", "The slug must be 1 to 40 lower-case letters, digits or dashes, not starting or ending with a dash, and not a reserved word.")
	}
	now := s.now()
	o := Organization{ID: NewID(), Slug: slug, Name: name, SelfSignup: true, CreatedAt: now, UpdatedAt: now}
	if err := s.repo.createOrg(ctx, &o); err != nil {
		return Organization{}, err
	}
	return o, nil
}

// Slugify turns a name into a slug candidate ("Acme Corp." → "acme-corp").
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

// FirstOrg is the organisation `/` and `/portal` show.
func (s *Service) FirstOrg(ctx context.Context) (Organization, error) { return s.repo.firstOrg(ctx) }

// OrgBySlug finds an organisation by its portal slug.
func (s *Service) OrgBySlug(ctx context.Context, slug string) (Organization, error) {
	return s.repo.orgBySlug(ctx, slug)
}

// Org finds an organisation by id.
func (s *Service) Org(ctx context.Context, id string) (Organization, error) {
	return s.repo.orgByID(ctx, id)
}

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	Created bool
	Email   string
	// GeneratedPassword is set when no password was configured; it is shown once.
	GeneratedPassword string
}

// DefaultAdminEmail is the first admin's address when none is configured.
const DefaultAdminEmail = "admin@localhost"

// Bootstrap creates the first admin when the installation has no users. With no
// password configured it generates one, which the caller prints once.
func (s *Service) Bootstrap(ctx context.Context, email string, password config.Secret) (BootstrapResult, error) {
	n, err := s.repo.countUsers(ctx)
	if err != nil || n > 0 {
		return BootstrapResult{}, err
	}
	res := BootstrapResult{Email: normEmail(email)}
	if res.Email == "" {
		res.Email = DefaultAdminEmail
	}
	pw := password.Reveal()
	if pw == "" {
		pw = secrets.Token("", 18)
		res.GeneratedPassword = pw
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return BootstrapResult{}, err
	}
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		org, err := s.EnsureDefaultOrg(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		u := User{ID: NewID(), OrgID: org.ID, Email: res.Email, PasswordHash: hash, Role: RoleAdmin, CreatedAt: now, UpdatedAt: now}
		return s.repo.createUser(ctx, &u)
	})
	if errors.Is(err, ErrEmailTaken) { // a concurrent start created it
		return BootstrapResult{}, nil
	}
	if err != nil {
		return BootstrapResult{}, err
	}
	res.Created = true
	return res, nil
}

// NewUser is what an admin gives to add a user.
type NewUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     Role   `json:"role"`
	Name     string `json:"name"`
}

// CreateUser adds a user to the actor's organisation. Only admins may.
func (s *Service) CreateUser(ctx context.Context, actor Principal, in NewUser) (User, error) {
	if err := actor.Require(RoleAdmin); err != nil {
		return User{}, err
	}
	if in.Role == "" {
		in.Role = RoleDeveloper
	}
	if !in.Role.Valid() {
		return User{}, apperr.Invalid("role", "invalid_role", "role must be admin, publisher or developer.")
	}
	u, err := s.newUser(ctx, actor.OrgID, in.Email, in.Password, in.Name, in.Role)
	if err != nil {
		return User{}, err
	}
	_ = s.Audit(ctx, actor, "user.create", "user", u.ID, map[string]any{"email": u.Email, "role": u.Role})
	return u, nil
}

// Signup is a self sign-up request.
type Signup struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Org      string `json:"org"` // slug; empty means the first organisation
}

// SignUp creates a developer in the named (or first) organisation, when that
// organisation allows self sign-up.
func (s *Service) SignUp(ctx context.Context, in Signup) (User, Organization, error) {
	var org Organization
	var err error
	if slug := strings.TrimSpace(in.Org); slug != "" {
		org, err = s.repo.orgBySlug(ctx, strings.ToLower(slug))
		if errors.Is(err, ErrOrgNotFound) {
			err = apperr.NotFound("organisation").WithField("org")
		}
	} else {
		org, err = s.EnsureDefaultOrg(ctx)
	}
	if err != nil {
		return User{}, Organization{}, err
	}
	if !org.SelfSignup {
		return User{}, Organization{}, ErrSignupDisabled
	}
	u, err := s.newUser(ctx, org.ID, in.Email, in.Password, "", RoleDeveloper)
	return u, org, err
}

func (s *Service) newUser(ctx context.Context, orgID, email, password, name string, role Role) (User, error) {
	email = normEmail(email)
	if !config.LooksLikeEmail(email) {
		return User{}, apperr.Invalid("email", "invalid_email", "Enter an e-mail address such as name@example.com.")
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	u := User{ID: NewID(), OrgID: orgID, Email: email, Name: strings.TrimSpace(name), PasswordHash: hash, Role: role, CreatedAt: now, UpdatedAt: now}
	if err := s.repo.createUser(ctx, &u); err != nil {
		return User{}, err
	}
	return u, nil
}

func checkPassword(pw string) error {
	switch {
	case len(pw) < config.MinPasswordLen:
		return apperr.Invalid("password", "weak_password", fmt.Sprintf("Choose a password of at least %d characters.", config.MinPasswordLen))
	case len(pw) > MaxPasswordLen:
		return apperr.Invalid("password", "invalid_password", fmt.Sprintf("Passwords are at most %d characters.", MaxPasswordLen))
	}
	return nil
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// Authenticate checks an e-mail and password. Unknown e-mails cost the same time
// as wrong passwords and get the same error.
func (s *Service) Authenticate(ctx context.Context, email, password string) (User, error) {
	email = normEmail(email)
	if s.logins.blocked(email) {
		return User{}, ErrTooManyAttempts
	}
	if len(password) > MaxPasswordLen {
		s.logins.fail(email)
		return User{}, ErrInvalidCredentials
	}
	u, err := s.repo.userByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		_, _ = CheckPassword(dummyHash(), password)
		s.logins.fail(email)
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		return User{}, fmt.Errorf("account: user %s: %w", u.ID, err)
	}
	if !ok || u.Disabled {
		s.logins.fail(email)
		return User{}, ErrInvalidCredentials
	}
	s.logins.succeed(email)
	if err := s.repo.touchLogin(ctx, u.ID, s.now()); err != nil {
		s.log.WarnContext(ctx, "recording login time failed", "err", err)
	}
	return u, nil
}

// StartSession opens a browser session for u and returns the cookie value.
func (s *Service) StartSession(ctx context.Context, u User, userAgent, ip string) (string, error) {
	tok := secrets.Token("", 32)
	now := s.now()
	if len(userAgent) > 255 {
		userAgent = userAgent[:255]
	}
	row := session{IDHash: secrets.Hash(tok), UserID: u.ID, OrgID: u.OrgID, UserAgent: userAgent, IP: ip,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.repo.createSession(ctx, &row); err != nil {
		return "", err
	}
	return tok, nil
}

// Session resolves a session cookie to its principal and slides its expiry.
func (s *Service) Session(ctx context.Context, cookie string) (Principal, error) {
	if cookie == "" || len(cookie) > 128 {
		return Principal{}, ErrUnauthenticated
	}
	hash := secrets.Hash(cookie)
	now := s.now()
	sess, u, err := s.repo.sessionUser(ctx, hash, now)
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		if err := s.repo.touchSession(ctx, hash, now, now.Add(SessionTTL)); err != nil {
			s.log.WarnContext(ctx, "extending session failed", "err", err)
		}
	}
	return Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role, Via: "session"}, nil
}

// EndSession deletes the session behind cookie (logging out).
func (s *Service) EndSession(ctx context.Context, cookie string) error {
	if cookie == "" {
		return nil
	}
	return s.repo.deleteSession(ctx, secrets.Hash(cookie))
}

// IssuedToken is a new personal access token; Token is shown once.
type IssuedToken struct {
	Token     string    `json:"token"`
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueToken checks credentials and returns a new personal access token.
func (s *Service) IssueToken(ctx context.Context, email, password, name string) (IssuedToken, error) {
	u, err := s.Authenticate(ctx, email, password)
	if err != nil {
		return IssuedToken{}, err
	}
	return s.issueToken(ctx, u.ID, u.OrgID, name)
}

// IssueTokenFor makes a personal access token for the signed-in actor (the
// account page), without asking for the password again.
func (s *Service) IssueTokenFor(ctx context.Context, actor Principal, name string) (IssuedToken, error) {
	var t IssuedToken
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = s.issueToken(ctx, actor.UserID, actor.OrgID, name); err != nil {
			return err
		}
		return s.Audit(ctx, actor, "token.create", "user", actor.UserID, map[string]any{"token_id": t.ID, "name": strings.TrimSpace(name)})
	})
	return t, err
}

func (s *Service) issueToken(ctx context.Context, userID, orgID, name string) (IssuedToken, error) {
	tok := secrets.Token("pat_", 32)
	now := s.now()
	name = strings.TrimSpace(name)
	if len(name) > 100 {
		name = name[:100]
	}
	row := APIToken{ID: NewID(), UserID: userID, OrgID: orgID, Name: name, TokenHash: secrets.Hash(tok),
		CreatedAt: now, ExpiresAt: now.Add(TokenTTL)}
	if err := s.repo.createToken(ctx, &row); err != nil {
		return IssuedToken{}, err
	}
	return IssuedToken{Token: tok, ID: row.ID, ExpiresAt: row.ExpiresAt}, nil
}

// TokenPrincipal resolves a personal access token.
func (s *Service) TokenPrincipal(ctx context.Context, token string) (Principal, error) {
	if !strings.HasPrefix(token, "pat_") || len(token) > 128 {
		return Principal{}, ErrBadToken
	}
	now := s.now()
	t, u, err := s.repo.tokenUser(ctx, secrets.Hash(token), now)
	if err != nil {
		return Principal{}, err
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchEvery {
		if err := s.repo.touchToken(ctx, t.ID, now); err != nil {
			s.log.WarnContext(ctx, "recording token use failed", "err", err)
		}
	}
	return Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role, Via: "token"}, nil
}

// User returns a user of the actor's organisation (admins see all; others only
// themselves). Users of other organisations are not found.
func (s *Service) User(ctx context.Context, actor Principal, id string) (User, error) {
	if !actor.Is(RoleAdmin) && actor.UserID != id {
		return User{}, ErrUserNotFound
	}
	return s.repo.userByID(ctx, actor.OrgID, id)
}

// ListUsers lists the actor's organisation's users by id, after the given id.
func (s *Service) ListUsers(ctx context.Context, actor Principal, after string, limit int) ([]User, error) {
	if err := actor.Require(RoleAdmin); err != nil {
		return nil, err
	}
	return s.repo.listUsers(ctx, actor.OrgID, after, limit)
}

// Audit records that actor did action to an object. Call it inside the
// transaction that made the change, so the record and the change land together.
func (s *Service) Audit(ctx context.Context, actor Principal, action, objectType, objectID string, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil || detail == nil {
		b = []byte("{}")
	}
	return s.repo.audit(ctx, &AuditEvent{ID: NewID(), OrgID: actor.OrgID, ActorID: actor.UserID, ActorEmail: actor.Email,
		Action: action, ObjectType: objectType, ObjectID: objectID, Detail: string(b), CreatedAt: s.now()})
}

// PurgeExpired deletes expired sessions and tokens in batches and returns how
// many went.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	const batch = 500
	var total int64
	for {
		n, err := s.repo.deleteExpired(ctx, s.now(), batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// RunJanitor calls PurgeExpired every interval until ctx ends.
func (s *Service) RunJanitor(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "expired session clean-up failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// History returns the newest audit events about one object of the actor's
// organisation (who did what, when), newest first. Callers check that the actor
// may see the object.
func (s *Service) History(ctx context.Context, actor Principal, objectType, objectID string, limit int) ([]AuditEvent, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return s.repo.history(ctx, actor.OrgID, objectType, objectID, limit)
}
