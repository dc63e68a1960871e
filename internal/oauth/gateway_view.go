package oauth

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// PublicKey is a key that verifies access tokens, as the gateway needs it.
type PublicKey struct {
	KID       string
	Algorithm string
	Key       crypto.PublicKey
}

// GatewayView is what the gateway needs from the OAuth server to verify access
// tokens locally: who issues them, for which audience, with which keys, and
// which were revoked before their expiry.
type GatewayView struct {
	Issuer, Audience string
	SigningKeys      []PublicKey
	RevokedJTIs      []string
}

// GatewayView reads the view with ctx, so the loader's read-only transaction
// (carried in ctx) sees it consistent with the rest of the snapshot.
func (s *Server) GatewayView(ctx context.Context) (GatewayView, error) {
	v := GatewayView{Issuer: s.cfg.Issuer, Audience: s.cfg.Issuer}
	now := s.storage.now()
	var rows []signingKeyRow
	if err := s.storage.st.DB(ctx).Select("kid", "algorithm", "public_jwk").
		Where("not_after IS NULL OR not_after > ?", now).Order("kid").Find(&rows).Error; err != nil {
		return v, fmt.Errorf("oauth: read signing keys: %w", err)
	}
	for _, r := range rows {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(r.PublicJWK), &jwk); err != nil {
			return v, fmt.Errorf("oauth: signing key %s: %w", r.KID, err)
		}
		v.SigningKeys = append(v.SigningKeys, PublicKey{KID: r.KID, Algorithm: r.Algorithm, Key: jwk.Key})
	}
	if err := s.storage.st.DB(ctx).Model(&RevokedToken{}).Where("expires_at > ?", now).
		Order("jti").Pluck("jti", &v.RevokedJTIs).Error; err != nil {
		return v, fmt.Errorf("oauth: read revoked tokens: %w", err)
	}
	return v, nil
}
