package account

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"portico/internal/platform/apperr"
	"portico/internal/platform/mail"
	"portico/internal/platform/secrets"
	"portico/internal/store"
)

// Password resets: a user who forgot their password asks for a link by
// e-mail; the link works once, for an hour.
const (
	resetTTL = time.Hour
	// resetEvery is the least time between two links to one user, so the
	// form cannot be used to flood someone's mailbox.
	resetEvery = time.Minute
)

// ErrResetInvalid answers a reset link that is unknown, used or expired.
var ErrResetInvalid = apperr.Invalid("token", "invalid_reset_link", "This link is expired or was used already; ask for a new one.")

// passwordReset is one link sent; the row holds only the token's hash.
type passwordReset struct {
	TokenHash string `gorm:"primaryKey"`
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

func (passwordReset) TableName() string { return "password_resets" }

// SetMailer lets the service e-mail password-reset links pointing at baseURL.
func (s *Service) SetMailer(m *mail.Mailer, baseURL string) {
	s.mailer, s.baseURL = m, strings.TrimRight(baseURL, "/")
}

// CanResetByMail reports whether forgotten passwords can be reset by e-mail.
func (s *Service) CanResetByMail() bool { return s.mailer.Enabled() }

// RequestPasswordReset e-mails a one-time link to the user with that address,
// if there is one and they are enabled. It answers the same whether or not
// the address is known, and sends in the background, so neither the answer
// nor its timing tells who has an account.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	if !s.CanResetByMail() {
		return apperr.Conflict("mail_unavailable", "This installation sends no e-mail: ask an administrator of your organisation to set a new password for you.")
	}
	email = normEmail(email)
	if !strings.Contains(email, "@") || len(email) > 254 {
		return apperr.Invalid("email", "invalid_email", "Enter the e-mail address you log in with.")
	}
	u, err := s.repo.userByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) || (err == nil && u.Disabled) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now()
	if last, err := s.repo.lastReset(ctx, u.ID); err != nil {
		return err
	} else if last != nil && now.Sub(*last) < resetEvery {
		return nil
	}
	tok := secrets.Token("", 32)
	if err := s.repo.createReset(ctx, &passwordReset{TokenHash: secrets.Hash(tok), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(resetTTL)}); err != nil {
		return err
	}
	link := s.baseURL + "/portal/reset?token=" + url.QueryEscape(tok)
	body := fmt.Sprintf("Someone, probably you, asked to reset the password of your Portico account %s.\n\n"+
		"Choose a new password here (the link works once, for an hour):\n\n%s\n\n"+
		"If it was not you, ignore this message: your password stays as it is.\n", u.Email, link)
	s.mailWG.Add(1)
	go func() {
		defer s.mailWG.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.mailer.Send(ctx, u.Email, "Reset your Portico password", body); err != nil {
			s.log.WarnContext(ctx, "password reset e-mail failed", "user_id", u.ID, "err", err)
		}
	}()
	return nil
}

// WaitForMail waits for reset e-mails being sent (shutdown, tests).
func (s *Service) WaitForMail() { s.mailWG.Wait() }

// CheckResetToken reports whether a reset link can still be used.
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	_, err := s.repo.openReset(ctx, token, s.now())
	return err
}

// ResetPassword sets a new password through a reset link, which is then
// spent (with every other link of the user); every session and token of
// the user ends.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (User, error) {
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		r, err := s.repo.openReset(ctx, token, now)
		if err != nil {
			return err
		}
		if u, err = s.repo.userByIDAnyOrg(ctx, r.UserID); err != nil {
			return err
		}
		if u.Disabled {
			return ErrResetInvalid
		}
		if n, err := s.repo.spendResets(ctx, u.ID, now); err != nil || n == 0 {
			if err == nil {
				err = ErrResetInvalid // spent by a concurrent use
			}
			return err
		}
		if err := s.repo.updateUser(ctx, u.ID, map[string]any{"password_hash": hash, "updated_at": now}); err != nil {
			return err
		}
		if err := s.repo.endUserSessions(ctx, u.ID); err != nil {
			return err
		}
		me := Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role, Via: "password_reset"}
		return s.Audit(ctx, me, "user.password_reset", "user", u.ID, nil)
	})
	return u, err
}

func (r repo) createReset(ctx context.Context, p *passwordReset) error {
	return wrap("create password reset", r.st.DB(ctx).Create(p).Error)
}

func (r repo) lastReset(ctx context.Context, userID string) (*time.Time, error) {
	var p passwordReset
	err := r.st.DB(ctx).Where("user_id = ?", userID).Order("created_at DESC").Take(&p).Error
	if store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("read password reset", err)
	}
	return &p.CreatedAt, nil
}

func (r repo) openReset(ctx context.Context, token string, now time.Time) (passwordReset, error) {
	var p passwordReset
	if token == "" || len(token) > 128 {
		return p, ErrResetInvalid
	}
	err := r.st.DB(ctx).Where("token_hash = ? AND used_at IS NULL AND expires_at > ?", secrets.Hash(token), now).Take(&p).Error
	return p, notFound(err, ErrResetInvalid)
}

// spendResets marks every open link of the user used.
func (r repo) spendResets(ctx context.Context, userID string, now time.Time) (int64, error) {
	res := r.st.DB(ctx).Model(&passwordReset{}).Where("user_id = ? AND used_at IS NULL", userID).Update("used_at", now)
	return res.RowsAffected, wrap("spend password resets", res.Error)
}

func (r repo) userByIDAnyOrg(ctx context.Context, id string) (User, error) {
	var u User
	err := r.st.DB(ctx).Where("id = ?", id).Take(&u).Error
	return u, notFound(err, ErrUserNotFound)
}
