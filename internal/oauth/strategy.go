package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"
)

// accessTokenType is the JWT "typ" of RFC 9068 §2.1.
const accessTokenType = "at+jwt"

// keySigner is a jwt.Signer over Keys: it signs with the current key and names
// it in the "kid" header, and verifies with whichever live key the token names.
type keySigner struct{ keys *Keys }

var _ jwt.Signer = keySigner{}

func fixedKey(k *signingKey) *jwt.DefaultSigner {
	return &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (interface{}, error) { return k.private, nil }}
}

// Generate signs claims with the current key.
func (s keySigner) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	key, err := s.keys.Current(ctx)
	if err != nil {
		return "", "", err
	}
	h := jwt.NewHeaders()
	if header != nil {
		for k, v := range header.ToMap() {
			h.Add(k, v)
		}
	}
	h.Add("kid", key.kid)
	h.Add("typ", accessTokenType)
	return fixedKey(key).Generate(ctx, claims, h)
}

var errUnknownKey = &jwt.ValidationError{Errors: jwt.ValidationErrorUnverifiable}

// keyFor finds the key a token's header names.
func (s keySigner) keyFor(ctx context.Context, token string) (*signingKey, error) {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed}
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed}
	}
	var h struct {
		KID string `json:"kid"`
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.KID == "" {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed}
	}
	key, ok := s.keys.Lookup(ctx, h.KID)
	if !ok || key.alg != h.Alg {
		return nil, errUnknownKey
	}
	return key, nil
}

// Validate checks a token's signature and returns it.
func (s keySigner) Validate(ctx context.Context, token string) (string, error) {
	key, err := s.keyFor(ctx, token)
	if err != nil {
		return "", err
	}
	return fixedKey(key).Validate(ctx, token)
}

// Decode verifies and parses a token.
func (s keySigner) Decode(ctx context.Context, token string) (*jwt.Token, error) {
	key, err := s.keyFor(ctx, token)
	if err != nil {
		return nil, err
	}
	return fixedKey(key).Decode(ctx, token)
}

// Hash is SHA-256, as fosite's default signer.
func (s keySigner) Hash(ctx context.Context, in []byte) ([]byte, error) {
	return (&jwt.DefaultSigner{}).Hash(ctx, in)
}

// GetSignature returns a token's signature part.
func (s keySigner) GetSignature(ctx context.Context, token string) (string, error) {
	return (&jwt.DefaultSigner{}).GetSignature(ctx, token)
}

// GetSigningMethodLength is the SHA-256 size.
func (s keySigner) GetSigningMethodLength(ctx context.Context) int { return jwt.SHA256HashSize }

// tokenStrategy issues RFC 9068 access tokens (JWTs) and HMAC codes and
// refresh tokens.
type tokenStrategy struct {
	*oauth2.DefaultJWTStrategy
}

// GenerateAccessToken gives every access token its own jti and iat (a refresh
// reuses the grant's session, which would otherwise repeat them), the client_id
// claim, and the client as subject when no user is involved (client credentials).
func (t *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	sess, ok := r.GetSession().(*oauth2.JWTSession)
	if !ok {
		return "", "", errors.New("oauth: session is not a JWT session")
	}
	claims, _ := sess.GetJWTClaims().(*jwt.JWTClaims)
	if claims == nil {
		return "", "", errors.New("oauth: session has no JWT claims")
	}
	clientID := r.GetClient().GetID()
	claims.JTI = uuid.NewString()
	claims.IssuedAt = time.Time{}
	claims.NotBefore = time.Time{}
	if sess.Subject == "" {
		sess.Subject = clientID
	}
	claims.Subject = sess.Subject
	claims.Add("client_id", clientID)
	return t.DefaultJWTStrategy.GenerateAccessToken(ctx, r)
}
