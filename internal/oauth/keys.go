package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"portico/internal/account"
	"portico/internal/platform/secrets"
	"portico/internal/store"
)

// Signing algorithms. RS256 is what RFC 9068 §2.1 requires every party to
// support; ES256 signs about 30 times faster.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// keyReload is how long a node trusts its cached key set before rereading it,
// so a rotation made on another node is picked up.
const keyReload = 30 * time.Second

// signingKey is a key in memory.
type signingKey struct {
	kid       string
	alg       string
	private   crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
	public    jose.JSONWebKey
	createdAt time.Time
	notAfter  *time.Time
}

// Keys holds the keys that sign access tokens. The newest key whose not_after
// is NULL signs; every key not yet past not_after verifies and is published.
// It is safe for concurrent use.
type Keys struct {
	st     *store.Store
	sealer *secrets.Sealer
	alg    string
	// retire is how long a rotated-out key keeps verifying: the access-token
	// lifetime plus the reload interval (another node may sign with it that long).
	retire time.Duration
	log    *slog.Logger
	now    func() time.Time

	mu       sync.RWMutex
	current  *signingKey
	byKID    map[string]*signingKey
	loadedAt time.Time
	// genMu makes one goroutine create the first key.
	genMu sync.Mutex
}

// NewKeys returns the key set; alg is RS256 or ES256.
func NewKeys(st *store.Store, sealer *secrets.Sealer, alg string, tokenTTL time.Duration, log *slog.Logger) (*Keys, error) {
	if alg != RS256 && alg != ES256 {
		return nil, fmt.Errorf("oauth: signing algorithm %q is not RS256 or ES256", alg)
	}
	return &Keys{st: st, sealer: sealer, alg: alg, retire: tokenTTL + keyReload + time.Minute, log: log,
		now: func() time.Time { return time.Now().UTC() }, byKID: map[string]*signingKey{}}, nil
}

// Current returns the key that signs now, creating the first one if there is none.
func (k *Keys) Current(ctx context.Context) (*signingKey, error) {
	k.mu.RLock()
	cur, fresh := k.current, k.now().Sub(k.loadedAt) < keyReload
	k.mu.RUnlock()
	if cur != nil && fresh {
		return cur, nil
	}
	if err := k.load(ctx); err != nil {
		if cur != nil { // keep signing with what we have; the database will come back
			k.log.WarnContext(ctx, "signing keys unreadable; using the cached key", "err", err)
			return cur, nil
		}
		return nil, err
	}
	k.mu.RLock()
	cur = k.current
	k.mu.RUnlock()
	if cur != nil {
		return cur, nil
	}
	if err := k.ensure(ctx); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.current == nil {
		return nil, errors.New("oauth: no signing key after creating one")
	}
	return k.current, nil
}

// Lookup returns the key with kid, rereading the set once when it is unknown
// (another node may have rotated).
func (k *Keys) Lookup(ctx context.Context, kid string) (*signingKey, bool) {
	k.mu.RLock()
	key, ok := k.byKID[kid]
	stale := k.now().Sub(k.loadedAt) > time.Second
	k.mu.RUnlock()
	if ok || !stale {
		return key, ok
	}
	if err := k.load(ctx); err != nil {
		return nil, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok = k.byKID[kid]
	return key, ok
}

// ensure creates a signing key when none is live.
func (k *Keys) ensure(ctx context.Context) error {
	k.genMu.Lock()
	defer k.genMu.Unlock()
	if err := k.load(ctx); err != nil {
		return err
	}
	k.mu.RLock()
	have := k.current != nil
	k.mu.RUnlock()
	if have {
		return nil
	}
	row, err := k.generate()
	if err != nil {
		return err
	}
	// The gateway verifies tokens with the keys of its snapshot: a new key must
	// reach it (config version) before the first token it signs does.
	err = k.st.InTx(ctx, func(ctx context.Context) error {
		if err := k.st.DB(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("oauth: store signing key: %w", err)
		}
		_, err := k.st.BumpConfigVersion(ctx)
		return err
	})
	if err != nil {
		return err
	}
	k.log.InfoContext(ctx, "created an access-token signing key", "kid", row.KID, "alg", row.Algorithm)
	return k.load(ctx)
}

// Rotate makes a new signing key and retires the current one: it keeps verifying
// and stays in the JWKS until the last token it signed has expired. It returns
// the new key's id. The gateway learns of the new key through the config version.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	row, err := k.generate()
	if err != nil {
		return "", err
	}
	err = k.st.InTx(ctx, func(ctx context.Context) error {
		until := k.now().Add(k.retire)
		if err := k.st.DB(ctx).Model(&signingKeyRow{}).Where("not_after IS NULL").Update("not_after", until).Error; err != nil {
			return fmt.Errorf("oauth: retire signing key: %w", err)
		}
		if err := k.st.DB(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("oauth: store signing key: %w", err)
		}
		_, err := k.st.BumpConfigVersion(ctx)
		return err
	})
	if err != nil {
		return "", err
	}
	k.log.InfoContext(ctx, "rotated the access-token signing key", "kid", row.KID, "alg", row.Algorithm)
	return row.KID, k.load(ctx)
}

func (k *Keys) generate() (signingKeyRow, error) {
	var priv crypto.Signer
	var err error
	switch k.alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return signingKeyRow{}, fmt.Errorf("oauth: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return signingKeyRow{}, fmt.Errorf("oauth: encode signing key: %w", err)
	}
	kid := account.NewID()
	pub, err := json.Marshal(jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: k.alg, Use: "sig"})
	if err != nil {
		return signingKeyRow{}, fmt.Errorf("oauth: encode public key: %w", err)
	}
	return signingKeyRow{KID: kid, Algorithm: k.alg, PrivateKey: k.sealer.Seal(der), PublicJWK: string(pub), CreatedAt: k.now()}, nil
}

// Reload rereads the live keys now (rotation made elsewhere, tests).
func (k *Keys) Reload(ctx context.Context) error { return k.load(ctx) }

// load rereads the live keys.
func (k *Keys) load(ctx context.Context) error {
	now := k.now()
	var rows []signingKeyRow
	if err := k.st.DB(ctx).Where("not_after IS NULL OR not_after > ?", now).Order("created_at DESC, kid DESC").Find(&rows).Error; err != nil {
		return fmt.Errorf("oauth: read signing keys: %w", err)
	}
	byKID := make(map[string]*signingKey, len(rows))
	var current *signingKey
	for _, r := range rows {
		key, err := k.open(r)
		if err != nil {
			k.log.ErrorContext(ctx, "signing key cannot be opened; skipped", "kid", r.KID, "err", err)
			continue
		}
		byKID[key.kid] = key
		if key.notAfter == nil && current == nil {
			current = key
		}
	}
	k.mu.Lock()
	k.current, k.byKID, k.loadedAt = current, byKID, now
	k.mu.Unlock()
	return nil
}

func (k *Keys) open(r signingKeyRow) (*signingKey, error) {
	der, err := k.sealer.Open(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", parsed)
	}
	var pub jose.JSONWebKey
	if err := json.Unmarshal([]byte(r.PublicJWK), &pub); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return &signingKey{kid: r.KID, alg: r.Algorithm, private: priv, public: pub, createdAt: r.CreatedAt, notAfter: r.NotAfter}, nil
}

// JWKS returns the public keys that verify live tokens, the signing key first.
func (k *Keys) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	if _, err := k.Current(ctx); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	keys := make([]*signingKey, 0, len(k.byKID))
	for _, key := range k.byKID {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i].notAfter == nil) != (keys[j].notAfter == nil) {
			return keys[i].notAfter == nil
		}
		return keys[i].createdAt.After(keys[j].createdAt)
	})
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(keys))}
	for i, key := range keys {
		set.Keys[i] = key.public
	}
	return set, nil
}
