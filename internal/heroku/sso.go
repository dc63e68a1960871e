package heroku

import (
	"context"
	"crypto/sha1" //nolint:gosec // Heroku's SSO token is defined as SHA-1; it is a MAC over a shared salt here
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/config"
	"portico/internal/platform/secrets"
)

// SSOWindow is how far an SSO timestamp may be from now, either way.
const SSOWindow = 5 * time.Minute

// SSORequest is what Heroku's dashboard posts to the SSO URL (heroku-addon.md §4):
// the v3 fields and the legacy id/token pair.
type SSORequest struct {
	ResourceID      string // resource_id: the provisioning uuid
	ResourceToken   string // resource_token
	UserScopedToken string // user_scoped_resource_token
	ID              string // id: what provisioning answered (the uuid here)
	Token           string // token: legacy
	Timestamp       string
	UserID          string // user_id: the Heroku user's stable id
	Email           string
	App             string
	NavData         string // nav-data
}

// LegacyToken is sha1(id:salt:timestamp), lower-case hex: the legacy token and
// the v3 resource_token alike (with the resource's uuid as id).
func LegacyToken(id, salt, timestamp string) string {
	sum := sha1.Sum([]byte(id + ":" + salt + ":" + timestamp)) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// UserScopedToken is sha256(uuid:salt:timestamp:user_id:email), lower-case hex.
func UserScopedToken(uuid, salt, timestamp, userID, email string) string {
	sum := sha256.Sum256([]byte(uuid + ":" + salt + ":" + timestamp + ":" + userID + ":" + email))
	return hex.EncodeToString(sum[:])
}

func tokenEqual(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(strings.TrimSpace(got))), []byte(want)) == 1
}

// ssoDenied is every SSO refusal: 403, with a message that says what to do but
// not which check failed beyond what the user can fix.
func ssoDenied(msg string) *Refusal { return &Refusal{Status: http.StatusForbidden, Message: msg} }

// verifySSO checks the token and timestamp and returns the resource's uuid. The
// strongest token present decides: user-scoped, then resource_token, then the
// legacy token.
func verifySSO(in SSORequest, salt string, now time.Time) (string, error) {
	ts := strings.TrimSpace(in.Timestamp)
	if ts == "" || (in.UserScopedToken == "" && in.ResourceToken == "" && in.Token == "") {
		return "", ssoDenied("The sign-in link is incomplete; open Portico again from the Heroku dashboard.")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", ssoDenied("The sign-in link is malformed; open Portico again from the Heroku dashboard.")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SSOWindow || d < -SSOWindow {
		return "", ssoDenied("The sign-in link has expired; open Portico again from the Heroku dashboard.")
	}
	rid := strings.ToLower(strings.TrimSpace(in.ResourceID))
	var ok bool
	switch {
	case in.UserScopedToken != "":
		ok = rid != "" && in.UserID != "" && in.Email != "" &&
			tokenEqual(in.UserScopedToken, UserScopedToken(rid, salt, ts, in.UserID, in.Email))
	case in.ResourceToken != "":
		ok = rid != "" && tokenEqual(in.ResourceToken, LegacyToken(rid, salt, ts))
	default:
		id := strings.TrimSpace(in.ID)
		if id == "" {
			id = rid
		}
		ok = id != "" && tokenEqual(in.Token, LegacyToken(id, salt, ts))
		rid = strings.ToLower(id)
	}
	if !ok {
		return "", ssoDenied("The sign-in link is not valid; open Portico again from the Heroku dashboard.")
	}
	return rid, nil
}

// SignIn checks an SSO request and returns the Portico user it signs in: the
// one this Heroku user had for this resource, or a new admin of the resource's
// organisation. A user belongs to one organisation, so a session from one
// add-on never reaches another's.
//
// The user gets the Heroku e-mail address when it is free. When the address
// already belongs to an account (another add-on's organisation, or any other
// user of this installation), that account is left alone: the user is made
// under a stable alias address (heroku-<hash>@users.heroku.invalid) with the
// real address as its name, so one Heroku user can manage several add-ons.
func (s *Service) SignIn(ctx context.Context, in SSORequest) (account.User, error) {
	uuid, err := verifySSO(in, s.cfg.SSOSalt.Reveal(), s.now())
	if err != nil {
		return account.User{}, err
	}
	res, err := s.repo.resource(ctx, uuid)
	if errors.Is(err, errNoResource) {
		return account.User{}, ssoDenied("This add-on is unknown to Portico.")
	}
	if err != nil {
		return account.User{}, err
	}
	if res.State == StateDeprovisioned {
		return account.User{}, ssoDenied("This add-on has been removed.")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	key := strings.TrimSpace(in.UserID)
	if key == "" {
		key = "email:" + email
	}
	if len(key) > 300 {
		return account.User{}, ssoDenied("The sign-in link is malformed; open Portico again from the Heroku dashboard.")
	}
	// One use per link: a link copied from the browser history is worthless.
	// A v3 link's user-scoped token binds the user, so it is the one spent; its
	// resource_token is marked too, so the same link with the user-scoped token
	// left out (the resource_token alone binds no user) is refused as well,
	// while teammates signing in the same second (same resource_token, each
	// their own user-scoped token) all get in.
	ts, expires := strings.TrimSpace(in.Timestamp), s.now().Add(2*SSOWindow)
	user := strings.ToLower(strings.TrimSpace(in.UserScopedToken))
	shared := strings.ToLower(strings.TrimSpace(in.ResourceToken))
	if shared == "" {
		shared = strings.ToLower(strings.TrimSpace(in.Token))
	}
	spend := func(sig string) error {
		err := s.repo.useToken(ctx, tokenHash(uuid, ts, sig), expires)
		if errors.Is(err, errReplayed) {
			return ssoDenied("This sign-in link was used already; open Portico again from the Heroku dashboard.")
		}
		return err
	}
	if user != "" {
		if err := spend("user:" + user); err != nil {
			return account.User{}, err
		}
		if shared != "" {
			if err := s.repo.markToken(ctx, tokenHash(uuid, ts, "shared:"+shared), expires); err != nil {
				return account.User{}, err
			}
		}
	} else if err := spend("shared:" + shared); err != nil {
		return account.User{}, err
	}
	founder := owner(res.OrgID)
	u, err := s.mappedUser(ctx, founder, uuid, key)
	if errors.Is(err, errNoMapping) {
		if key == "email:" || !config.LooksLikeEmail(email) {
			return account.User{}, ssoDenied("Heroku sent no usable e-mail address for you; open Portico again from the Heroku dashboard.")
		}
		u, err = s.createSSOUser(ctx, founder, uuid, key, email)
	}
	if err != nil {
		return account.User{}, err
	}
	if u.Disabled {
		return account.User{}, ssoDenied("Your Portico account for this add-on is disabled; ask an admin of the organisation.")
	}
	_ = s.accounts.Audit(ctx, account.Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role}, "heroku.sso", "heroku_resource", uuid, map[string]any{"app": truncate(in.App, 100)})
	return u, nil
}

func (s *Service) mappedUser(ctx context.Context, founder account.Principal, uuid, key string) (account.User, error) {
	m, err := s.repo.ssoUser(ctx, uuid, key)
	if err != nil {
		return account.User{}, err
	}
	return s.accounts.User(ctx, founder, m.UserID)
}

// createSSOUser makes the user and the mapping together; an address taken
// elsewhere falls back to the alias, and a concurrent first sign-in of the same
// person finds the other's user.
func (s *Service) createSSOUser(ctx context.Context, founder account.Principal, uuid, key, email string) (account.User, error) {
	alias := "heroku-" + tokenHash(uuid, key)[:16] + "@users.heroku.invalid"
	for _, addr := range []string{email, alias} {
		var u account.User
		err := s.st.InTx(ctx, func(ctx context.Context) error {
			name := ""
			if addr != email {
				name = email
			}
			var err error
			u, err = s.accounts.CreateUser(ctx, founder, account.NewUser{Email: addr, Password: secrets.Token("", 32), Role: account.RoleAdmin, Name: name})
			if err != nil {
				return err
			}
			return s.repo.createSSOUser(ctx, &ssoUser{ResourceUUID: uuid, HerokuUser: key, UserID: u.ID, CreatedAt: s.now()})
		})
		if err == nil {
			return u, nil
		}
		if mu, merr := s.mappedUser(ctx, founder, uuid, key); merr == nil {
			return mu, nil
		}
		if !errors.Is(err, account.ErrEmailTaken) {
			return account.User{}, err
		}
	}
	return account.User{}, ssoDenied("Portico could not make an account for you; ask the add-on's owner.")
}
