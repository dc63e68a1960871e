package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/pkce"
	"gorm.io/gorm/clause"

	"portico/internal/access"
	"portico/internal/store"
)

// Storage is fosite's storage on Portico's database: clients come from the
// access module, everything else lives in the oauth_* tables. It is the only
// code of this package, with keys.go, that touches GORM.
type Storage struct {
	st       *store.Store
	apps     Applications
	audience []string
	now      func() time.Time
}

// The interfaces fosite asserts at composition time (a missing one panics at
// start, so they are checked here at compile time too).
var (
	_ fosite.Storage                = (*Storage)(nil)
	_ oauth2.CoreStorage            = (*Storage)(nil)
	_ oauth2.TokenRevocationStorage = (*Storage)(nil)
	_ pkce.PKCERequestStorage       = (*Storage)(nil)
	_ transactional                 = (*Storage)(nil)
)

// formAllowList is the part of a request form kept at rest: never secrets,
// codes, verifiers or tokens.
var formAllowList = map[string]bool{
	"grant_type": true, "response_type": true, "scope": true, "client_id": true,
	"redirect_uri": true, "code_challenge": true, "code_challenge_method": true, "audience": true,
}

// NewStorage returns the storage.
func NewStorage(st *store.Store, apps Applications, audience []string) *Storage {
	return &Storage{st: st, apps: apps, audience: audience, now: func() time.Time { return time.Now().UTC() }}
}

// GetClient loads an application as a fosite client.
func (s *Storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	return s.client(ctx, id)
}

func (s *Storage) client(ctx context.Context, id string) (*Client, error) {
	app, err := s.apps.ClientByID(ctx, id)
	if errors.Is(err, access.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return newClient(app, s.audience), nil
}

// ClientAssertionJWTValid is part of fosite.ClientManager. Portico's clients do
// not authenticate with JWT assertions (they are not OpenID Connect clients), so
// fosite refuses such requests before asking; no JTI is ever known.
func (s *Storage) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT is part of fosite.ClientManager; see ClientAssertionJWTValid.
func (s *Storage) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return errors.New("oauth: client assertions are not supported")
}

// ---- transactions -------------------------------------------------------------

// transactional is fosite's storage.Transactional (that package also pulls in
// fosite's test helpers, so it is restated here).
type transactional interface {
	BeginTX(ctx context.Context) (context.Context, error)
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// txCtl connects fosite's BeginTX/Commit/Rollback to store.InTx, which runs a
// function inside a transaction: the function waits for Commit or Rollback.
type txCtl struct {
	finish chan error
	result chan error
	once   sync.Once
	err    error
}

type txCtlKey struct{}

var errRollback = errors.New("oauth: rolled back")

// BeginTX starts a transaction carried by the returned context; every storage
// call with that context joins it. If fosite never finishes it, it is rolled
// back when the request's context ends.
func (s *Storage) BeginTX(ctx context.Context) (context.Context, error) {
	ctl := &txCtl{finish: make(chan error, 1), result: make(chan error, 1)}
	ready := make(chan context.Context, 1)
	go func() {
		ctl.result <- s.st.InTx(ctx, func(txCtx context.Context) error {
			ready <- txCtx
			select {
			case err := <-ctl.finish:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	select {
	case txCtx := <-ready:
		return context.WithValue(txCtx, txCtlKey{}, ctl), nil
	case err := <-ctl.result:
		return ctx, fmt.Errorf("oauth: begin transaction: %w", err)
	}
}

func (s *Storage) endTx(ctx context.Context, with error) error {
	ctl, ok := ctx.Value(txCtlKey{}).(*txCtl)
	if !ok {
		return errors.New("oauth: no transaction in context")
	}
	ctl.once.Do(func() {
		ctl.finish <- with
		ctl.err = <-ctl.result
	})
	return ctl.err
}

// Commit commits the transaction BeginTX started.
func (s *Storage) Commit(ctx context.Context) error { return s.endTx(ctx, nil) }

// Rollback rolls back the transaction BeginTX started.
func (s *Storage) Rollback(ctx context.Context) error {
	if err := s.endTx(ctx, errRollback); err != nil && !errors.Is(err, errRollback) {
		return err
	}
	return nil
}

// ---- requests at rest -------------------------------------------------------

// NewSession returns an empty session of the type every token carries.
func NewSession(subject string) *oauth2.JWTSession {
	return &oauth2.JWTSession{Subject: subject}
}

func (s *Storage) fields(r fosite.Requester, expiry fosite.TokenType) (RequestFields, error) {
	sess := r.GetSession()
	data, err := json.Marshal(sess)
	if err != nil {
		return RequestFields{}, fmt.Errorf("oauth: encode session: %w", err)
	}
	form := url.Values{}
	for k, v := range r.GetRequestForm() {
		if formAllowList[k] {
			form[k] = v
		}
	}
	f := RequestFields{
		RequestID:         r.GetID(),
		ClientID:          r.GetClient().GetID(),
		RequestedAt:       r.GetRequestedAt().UTC(),
		RequestedScopes:   strings.Join(r.GetRequestedScopes(), " "),
		GrantedScopes:     strings.Join(r.GetGrantedScopes(), " "),
		RequestedAudience: strings.Join(r.GetRequestedAudience(), " "),
		GrantedAudience:   strings.Join(r.GetGrantedAudience(), " "),
		FormData:          form.Encode(),
		SessionData:       string(data),
		ExpiresAt:         sess.GetExpiresAt(expiry).UTC(),
	}
	if sess != nil {
		f.Subject = sess.GetSubject()
	}
	if c, ok := r.GetClient().(*Client); ok {
		f.OrgID = c.OrgID
	}
	if f.RequestedAt.IsZero() {
		f.RequestedAt = s.now()
	}
	if f.ExpiresAt.IsZero() || f.ExpiresAt.Year() < 2000 {
		// Tokens without an expiry still leave the table eventually.
		f.ExpiresAt = s.now().Add(365 * 24 * time.Hour)
	}
	return f, nil
}

func (s *Storage) request(ctx context.Context, f RequestFields, session fosite.Session) (*fosite.Request, error) {
	client, err := s.client(ctx, f.ClientID)
	if err != nil {
		return nil, err
	}
	if session == nil {
		session = NewSession("")
	}
	if err := json.Unmarshal([]byte(f.SessionData), session); err != nil {
		return nil, fmt.Errorf("oauth: decode session: %w", err)
	}
	form, err := url.ParseQuery(f.FormData)
	if err != nil {
		form = url.Values{}
	}
	return &fosite.Request{
		ID:                f.RequestID,
		RequestedAt:       f.RequestedAt,
		Client:            client,
		RequestedScope:    split(f.RequestedScopes),
		GrantedScope:      split(f.GrantedScopes),
		RequestedAudience: split(f.RequestedAudience),
		GrantedAudience:   split(f.GrantedAudience),
		Form:              form,
		Session:           session,
	}, nil
}

func split(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}

// hashSignature is how access-token signatures are kept: a leaked table does
// not hand out usable JWT signatures.
func hashSignature(sig string) string {
	sum := sha256.Sum256([]byte(sig))
	return hex.EncodeToString(sum[:])
}

func notFound(err error) error {
	if store.IsNotFound(err) {
		return fosite.ErrNotFound
	}
	return err
}

// ---- authorization codes ------------------------------------------------------

// CreateAuthorizeCodeSession stores a new, active code.
func (s *Storage) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	f, err := s.fields(r, fosite.AuthorizeCode)
	if err != nil {
		return err
	}
	return s.st.DB(ctx).Create(&codeRow{Signature: signature, RequestFields: f, Active: true}).Error
}

// GetAuthorizeCodeSession returns the code's request; a used code returns it too,
// with fosite.ErrInvalidatedAuthorizeCode, so fosite can revoke the grant.
func (s *Storage) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row codeRow
	if err := s.st.DB(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
		return nil, notFound(err)
	}
	req, err := s.request(ctx, row.RequestFields, session)
	if err != nil {
		return nil, err
	}
	if !row.Active {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession marks a code used. Only one of two concurrent
// exchanges of the same code can do so.
func (s *Storage) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	res := s.st.DB(ctx).Model(&codeRow{}).Where("signature = ? AND active = ?", signature, true).Update("active", false)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fosite.ErrInvalidatedAuthorizeCode
	}
	return nil
}

// ---- PKCE --------------------------------------------------------------------

// CreatePKCERequestSession stores a code's challenge.
func (s *Storage) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	f, err := s.fields(r, fosite.AuthorizeCode)
	if err != nil {
		return err
	}
	return s.st.DB(ctx).Create(&pkceRow{Signature: signature, RequestFields: f}).Error
}

// GetPKCERequestSession returns a code's challenge.
func (s *Storage) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row pkceRow
	if err := s.st.DB(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
		return nil, notFound(err)
	}
	return s.request(ctx, row.RequestFields, session)
}

// DeletePKCERequestSession removes a code's challenge once the code is exchanged.
func (s *Storage) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.st.DB(ctx).Where("signature = ?", signature).Delete(&pkceRow{}).Error
}

// ---- access tokens -----------------------------------------------------------

// CreateAccessTokenSession stores an issued access token by its hashed signature.
func (s *Storage) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	f, err := s.fields(r, fosite.AccessToken)
	if err != nil {
		return err
	}
	row := accessRow{SignatureHash: hashSignature(signature), JTI: jtiOf(r.GetSession()), RequestFields: f}
	return s.st.DB(ctx).Create(&row).Error
}

func jtiOf(sess fosite.Session) string {
	if js, ok := sess.(*oauth2.JWTSession); ok && js.JWTClaims != nil {
		return js.JWTClaims.JTI
	}
	return ""
}

// GetAccessTokenSession returns the request an access token was issued for.
func (s *Storage) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row accessRow
	if err := s.st.DB(ctx).Where("signature_hash = ?", hashSignature(signature)).Take(&row).Error; err != nil {
		return nil, notFound(err)
	}
	req, err := s.request(ctx, row.RequestFields, session)
	if err != nil {
		return nil, err
	}
	req.Session.SetExpiresAt(fosite.AccessToken, row.ExpiresAt)
	return req, nil
}

// DeleteAccessTokenSession forgets one access token.
func (s *Storage) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.st.DB(ctx).Where("signature_hash = ?", hashSignature(signature)).Delete(&accessRow{}).Error
}

// RevokeAccessToken revokes every access token of a grant: their jti go to the
// revoked list the gateway reads, the rows go, and the config version is bumped,
// all in one transaction.
func (s *Storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		var rows []accessRow
		if err := s.st.DB(ctx).Select("signature_hash", "jti", "client_id", "expires_at").
			Where("request_id = ?", requestID).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		now := s.now()
		var revoked []RevokedToken
		for _, r := range rows {
			if r.JTI != "" && r.ExpiresAt.After(now) {
				revoked = append(revoked, RevokedToken{JTI: r.JTI, ClientID: r.ClientID, ExpiresAt: r.ExpiresAt, RevokedAt: now})
			}
		}
		if len(revoked) > 0 {
			if err := s.st.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&revoked).Error; err != nil {
				return err
			}
		}
		if err := s.st.DB(ctx).Where("request_id = ?", requestID).Delete(&accessRow{}).Error; err != nil {
			return err
		}
		if len(revoked) == 0 {
			return nil
		}
		_, err := s.st.BumpConfigVersion(ctx)
		return err
	})
}

// ---- refresh tokens ----------------------------------------------------------

// CreateRefreshTokenSession stores an issued refresh token.
func (s *Storage) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, r fosite.Requester) error {
	f, err := s.fields(r, fosite.RefreshToken)
	if err != nil {
		return err
	}
	row := refreshRow{Signature: signature, RequestFields: f, Active: true}
	if accessSignature != "" {
		row.AccessSignatureHash = hashSignature(accessSignature)
	}
	return s.st.DB(ctx).Create(&row).Error
}

// GetRefreshTokenSession returns a refresh token's request. The expires_at
// column is authoritative; a rotated or revoked token returns its request with
// fosite.ErrInactiveToken, so a replay revokes the grant.
func (s *Storage) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row refreshRow
	if err := s.st.DB(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
		return nil, notFound(err)
	}
	req, err := s.request(ctx, row.RequestFields, session)
	if err != nil {
		return nil, err
	}
	req.Session.SetExpiresAt(fosite.RefreshToken, row.ExpiresAt)
	if !row.Active {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

// DeleteRefreshTokenSession forgets one refresh token.
func (s *Storage) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.st.DB(ctx).Where("signature = ?", signature).Delete(&refreshRow{}).Error
}

// RotateRefreshToken retires the refresh token being exchanged. The row stays,
// inactive, until it expires, so a replay is recognised. Of two concurrent
// exchanges only one wins. Access tokens issued earlier in the grant stay valid
// until they expire (RFC 6749 §6 asks nothing more).
func (s *Storage) RotateRefreshToken(ctx context.Context, _ string, signature string) error {
	res := s.st.DB(ctx).Model(&refreshRow{}).Where("signature = ? AND active = ?", signature, true).Update("active", false)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fosite.ErrSerializationFailure
	}
	return nil
}

// RevokeRefreshToken retires every refresh token of a grant.
func (s *Storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.st.DB(ctx).Model(&refreshRow{}).Where("request_id = ?", requestID).Update("active", false).Error
}

// ---- consent -----------------------------------------------------------------

// consented reports whether user already approved every one of scopes for client.
func (s *Storage) consented(ctx context.Context, userID, clientID string, scopes []string) (bool, error) {
	var row consentRow
	err := s.st.DB(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error
	if store.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var have []string
	if err := json.Unmarshal([]byte(row.Scopes), &have); err != nil {
		return false, nil
	}
	set := map[string]bool{}
	for _, sc := range have {
		set[sc] = true
	}
	for _, sc := range scopes {
		if !set[sc] {
			return false, nil
		}
	}
	return true, nil
}

// remember adds scopes to what user approved for client.
func (s *Storage) remember(ctx context.Context, userID, clientID string, scopes []string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		var row consentRow
		err := s.st.DB(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&row).Error
		now := s.now()
		var have []string
		switch {
		case store.IsNotFound(err):
			row = consentRow{UserID: userID, ClientID: clientID, CreatedAt: now}
		case err != nil:
			return err
		default:
			_ = json.Unmarshal([]byte(row.Scopes), &have)
		}
		set := map[string]bool{}
		for _, sc := range have {
			set[sc] = true
		}
		for _, sc := range scopes {
			if !set[sc] {
				set[sc] = true
				have = append(have, sc)
			}
		}
		b, _ := json.Marshal(have)
		if have == nil {
			b = []byte("[]")
		}
		row.Scopes, row.UpdatedAt = string(b), now
		return s.st.DB(ctx).Save(&row).Error
	})
}

// ---- janitor -----------------------------------------------------------------

// deleteExpired removes up to batch expired rows from each table and returns how
// many went in all.
func (s *Storage) deleteExpired(ctx context.Context, now time.Time, batch int) (int64, error) {
	var n int64
	for _, t := range []struct {
		model any
		table string
		key   string
		col   string
	}{
		{&codeRow{}, "oauth_authorization_codes", "signature", "expires_at"},
		{&pkceRow{}, "oauth_pkce_sessions", "signature", "expires_at"},
		{&accessRow{}, "oauth_access_tokens", "signature_hash", "expires_at"},
		{&refreshRow{}, "oauth_refresh_tokens", "signature", "expires_at"},
		{&RevokedToken{}, "oauth_revoked_tokens", "jti", "expires_at"},
		{&signingKeyRow{}, "oauth_signing_keys", "kid", "not_after"},
	} {
		sub := s.st.DB(ctx).Table(t.table).Select(t.key).Where(t.col+" <= ?", now).Limit(batch)
		res := s.st.DB(ctx).Where(t.key+" IN (?)", sub).Delete(t.model)
		if res.Error != nil {
			return n, fmt.Errorf("oauth: delete expired %s: %w", t.table, res.Error)
		}
		n += res.RowsAffected
	}
	return n, nil
}
