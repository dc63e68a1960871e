// Package secrets derives every key Portico uses from the one PORTICO_SECRET, encrypts
// values kept at rest (backend credentials, Heroku tokens, signing keys), and makes
// the random tokens users are handed once (API keys, session ids, client secrets).
//
// Keys are derived with HKDF-SHA256, one per purpose, so a cookie key can never
// decrypt a stored credential. Encryption is AES-256-GCM with a random nonce and a
// version byte, so the scheme can change without breaking stored rows.
// secrets imports only the standard library and golang.org/x/crypto.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// Keyring derives purpose-bound keys from the master secret. It is safe for
// concurrent use and never prints its material.
type Keyring struct {
	master []byte
}

// NewKeyring returns a Keyring over master, which must hold at least 32 bytes.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) < 32 {
		return nil, errors.New("secrets: master secret must be at least 32 bytes")
	}
	return &Keyring{master: append([]byte(nil), master...)}, nil
}

// String keeps the key material out of logs and fmt output.
func (k *Keyring) String() string { return "secrets.Keyring[redacted]" }

// Key derives a 32-byte key for purpose ("cookie", "csrf", "oauth-global", ...).
// The same purpose always gives the same key.
func (k *Keyring) Key(purpose string) []byte {
	r := hkdf.New(sha256.New, k.master, []byte("portico/v1"), []byte(purpose))
	out := make([]byte, 32)
	if _, err := io.ReadFull(r, out); err != nil {
		panic("secrets: hkdf read failed: " + err.Error()) // cannot happen for 32 bytes
	}
	return out
}

// MAC returns HMAC-SHA256 of msg under the key for purpose, hex-encoded.
func (k *Keyring) MAC(purpose string, msg []byte) string {
	m := hmac.New(sha256.New, k.Key(purpose))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// Sealer encrypts and decrypts values at rest for one purpose.
type Sealer struct {
	aead cipher.AEAD
}

// Sealer returns an AES-256-GCM sealer keyed for purpose.
func (k *Keyring) Sealer(purpose string) *Sealer {
	block, err := aes.NewCipher(k.Key("seal:" + purpose))
	if err != nil {
		panic("secrets: aes: " + err.Error()) // 32-byte key: cannot fail
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("secrets: gcm: " + err.Error())
	}
	return &Sealer{aead: aead}
}

const sealVersion = 1

// Seal encrypts plaintext and returns base64 text fit for a text column.
func (s *Sealer) Seal(plaintext []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secrets: no randomness: " + err.Error())
	}
	out := append([]byte{sealVersion}, nonce...)
	out = s.aead.Seal(out, nonce, plaintext, []byte{sealVersion})
	return base64.RawStdEncoding.EncodeToString(out)
}

// ErrUnseal is returned when a value was tampered with or sealed under another key.
var ErrUnseal = errors.New("secrets: value cannot be decrypted with this PORTICO_SECRET")

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed string) ([]byte, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, ErrUnseal
	}
	ns := s.aead.NonceSize()
	if len(raw) < 1+ns+s.aead.Overhead() || raw[0] != sealVersion {
		return nil, ErrUnseal
	}
	pt, err := s.aead.Open(nil, raw[1:1+ns], raw[1+ns:], []byte{sealVersion})
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// Token returns a random token of n bytes, URL-safe base64, with prefix ("pat_",
// "pk_"). Tokens identify themselves by prefix so leaked ones can be recognised.
func Token(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("secrets: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns the hex SHA-256 of a high-entropy token, as stored in the database.
// Only for random tokens: passwords use the account package's slow hash.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Generate returns a new master secret (64 hex characters, 256 bits).
func Generate() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("secrets: no randomness: %v", err))
	}
	return hex.EncodeToString(b)
}
