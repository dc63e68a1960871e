package secrets

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func ring(t *testing.T, s string) *Keyring {
	t.Helper()
	k, err := NewKeyring([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeysArePurposeBound(t *testing.T) {
	k := ring(t, strings.Repeat("a", 32))
	if bytes.Equal(k.Key("cookie"), k.Key("csrf")) {
		t.Fatal("two purposes share a key")
	}
	if !bytes.Equal(k.Key("cookie"), ring(t, strings.Repeat("a", 32)).Key("cookie")) {
		t.Fatal("derivation is not stable")
	}
	if bytes.Equal(k.Key("cookie"), ring(t, strings.Repeat("b", 32)).Key("cookie")) {
		t.Fatal("different masters give the same key")
	}
}

func TestShortMasterRefused(t *testing.T) {
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("short master accepted")
	}
}

func TestSealRoundTripAndTamper(t *testing.T) {
	k := ring(t, strings.Repeat("a", 32))
	s := k.Sealer("backend-credentials")
	sealed := s.Seal([]byte("hunter2"))
	if strings.Contains(sealed, "hunter2") {
		t.Fatal("plaintext visible")
	}
	got, err := s.Open(sealed)
	if err != nil || string(got) != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := k.Sealer("other").Open(sealed); err != ErrUnseal {
		t.Fatalf("other purpose opened it: %v", err)
	}
	b := []byte(sealed)
	b[len(b)-2] ^= 1
	if _, err := s.Open(string(b)); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := s.Open("!!!"); err != ErrUnseal {
		t.Fatal("garbage opened")
	}
}

func TestKeyringNeverPrintsMaterial(t *testing.T) {
	k := ring(t, "super-secret-master-value-0123456789")
	if out := fmt.Sprintf("%v %+v %s", k, k, k); strings.Contains(out, "super-secret") {
		t.Fatalf("printed: %s", out)
	}
}

func TestTokens(t *testing.T) {
	a, b := Token("pat_", 32), Token("pat_", 32)
	if a == b || !strings.HasPrefix(a, "pat_") || len(a) < 40 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if Hash(a) == Hash(b) || len(Hash(a)) != 64 {
		t.Fatal("hash")
	}
	if !Equal(a, a) || Equal(a, b) {
		t.Fatal("equal")
	}
	if len(Generate()) != 64 {
		t.Fatal("generate")
	}
}
