package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"portico/internal/gateway/snapshot"
)

type pemPair struct{ cert, key string }

// issue makes a certificate signed by parent (self-signed when parent is nil).
func issue(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, usage x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey, pemPair) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if !isCA {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	return cert, key, pemPair{
		cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		key:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})),
	}
}

func TestBackendRequiringAClientCertificate(t *testing.T) {
	ca, caKey, caPEM := issue(t, "Test CA", nil, nil, true, 0)
	_, _, serverPEM := issue(t, "backend", ca, caKey, false, x509.ExtKeyUsageServerAuth)
	_, _, clientPEM := issue(t, "portico-gateway", ca, caKey, false, x509.ExtKeyUsageClientAuth)

	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	serverCert, err := tls.X509KeyPair([]byte(serverPEM.cert), []byte(serverPEM.key))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	be.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	be.StartTLS()
	defer be.Close()

	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	load := func(cert, key string) {
		t.Helper()
		if err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "m", OrgID: "o", Context: "secure", Version: "v1", Default: true,
			State: snapshot.StatePublished, Backends: []string{be.URL}, TLSCert: cert, TLSKey: key, TLSCA: caPEM.cert}}}); err != nil {
			t.Fatal(err)
		}
	}
	load(clientPEM.cert, clientPEM.key)
	code, body := get(g, "/secure/hello")
	if code != 200 || body != "hello portico-gateway" {
		t.Fatalf("with the client certificate: %d %q", code, body)
	}
	load("", "") // trusted CA but no client certificate: the backend refuses the handshake
	if code, body := get(g, "/secure/hello"); code != 502 {
		t.Fatalf("without a client certificate: %d %q", code, body)
	}
}
