package access

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SecretHasher hashes client secrets with HMAC-SHA256 under a server pepper.
//
// Client secrets are 256-bit random values Portico generates, so a slow password
// hash buys nothing against guessing while costing ~250 ms a token request; the
// pepper (derived from PORTICO_SECRET) means a stolen table alone cannot be used
// to test candidate secrets offline. Compare runs in constant time.
type SecretHasher struct {
	pepper []byte
}

// NewSecretHasher returns a hasher keyed by pepper (32 bytes from the keyring).
func NewSecretHasher(pepper []byte) *SecretHasher {
	return &SecretHasher{pepper: append([]byte(nil), pepper...)}
}

// Hash returns the hex HMAC of secret, as stored in applications.client_secret_hash.
func (h *SecretHasher) Hash(secret []byte) string {
	m := hmac.New(sha256.New, h.pepper)
	m.Write(secret)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether secret hashes to hash. An empty hash (a public client)
// never verifies.
func (h *SecretHasher) Verify(hash string, secret []byte) bool {
	if hash == "" {
		return false
	}
	return hmac.Equal([]byte(hash), []byte(h.Hash(secret)))
}
