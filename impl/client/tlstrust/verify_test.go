package tlstrust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blindpost/blindpost/internal/tlspin"
)

// testCert is a certificate and key, optionally signed by a parent.
type testCert struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func newCert(t *testing.T, name string, isCA bool, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: cert, der: der, key: key}
}

// serve runs a TLS listener on loopback that completes handshakes with cert, and returns its
// host:port.
func serve(t *testing.T, c *testCert, maxVersion uint16) string {
	t.Helper()
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{c.der}, PrivateKey: c.key}},
		MaxVersion:   maxVersion,
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.(*tls.Conn).Handshake()
				buf := make([]byte, 1)
				_, _ = conn.Read(buf)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, p Policy, hostport string) (Verified, error) {
	t.Helper()
	cfg, v, err := p.Config(hostport)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", hostport, cfg)
	if err != nil {
		if _, ok := v.Result(); ok {
			t.Errorf("verification recorded for a failed handshake")
		}
		return Verified{}, Explain(hostport, err)
	}
	conn.Close()
	got, ok := v.Result()
	if !ok {
		t.Fatal("handshake succeeded without a verification result")
	}
	return got, nil
}

func writeCA(t *testing.T, ca *testCert) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerify checks each way a certificate is accepted or refused: spec §4.1 [TLS-1] [TLS-2]
// [TLS-3] [TLS-4].
func TestVerify(t *testing.T) {
	self := newCert(t, "self-signed", true, nil)
	other := newCert(t, "other", true, nil)
	ca := newCert(t, "ca", true, nil)
	leaf := newCert(t, "leaf", false, ca)
	selfAddr := serve(t, self, 0)
	leafAddr := serve(t, leaf, 0)
	oldAddr := serve(t, self, tls.VersionTLS12)
	roots, err := LoadCAFile(writeCA(t, ca))
	if err != nil {
		t.Fatal(err)
	}
	selfPin, otherPin, leafPin := tlspin.Of(self.cert), tlspin.Of(other.cert), tlspin.Of(leaf.cert)
	known := OpenKnownServers(filepath.Join(t.TempDir(), "known_servers"))
	if err := known.Add(selfAddr, selfPin); err != nil {
		t.Fatal(err)
	}
	wrongKnown := OpenKnownServers(filepath.Join(t.TempDir(), "known_servers"))
	if err := wrongKnown.Add(selfAddr, otherPin); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		policy  Policy
		addr    string
		want    Verified
		wantErr any // pointer to the error type expected, nil for success
	}{
		{"pinned self-signed [TLS-2]", Policy{Pin: &selfPin}, selfAddr, Verified{selfPin, MethodPin}, nil},
		{"wrong pin refused [TLS-2]", Policy{Pin: &otherPin}, selfAddr, Verified{}, new(*PinMismatchError)},
		{"wrong pin refused even with valid chain [TLS-2]", Policy{Pin: &otherPin, Roots: roots}, leafAddr, Verified{}, new(*PinMismatchError)},
		{"unknown self-signed refused [TLS-3]", Policy{}, selfAddr, Verified{}, new(*UnknownServerError)},
		{"ca file [TLS-2]", Policy{Roots: roots}, leafAddr, Verified{leafPin, MethodRoots}, nil},
		{"ca file does not vouch for self-signed", Policy{Roots: roots}, selfAddr, Verified{}, new(*UnknownServerError)},
		{"system roots refuse a private ca", Policy{}, leafAddr, Verified{}, new(*UnknownServerError)},
		{"known_servers pin [TLS-4]", Policy{Known: known}, selfAddr, Verified{selfPin, MethodKnown}, nil},
		{"known_servers different pin refused [TLS-4]", Policy{Known: wrongKnown}, selfAddr, Verified{}, new(*PinMismatchError)},
		{"tls 1.2 refused [TLS-1]", Policy{Pin: &selfPin}, oldAddr, Verified{}, versionError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dial(t, tc.policy, tc.addr)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				if got != tc.want {
					t.Fatalf("verified %+v, want %+v", got, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("dial succeeded (%+v), want an error", got)
			}
			if !isVersionError(err, tc.wantErr) && !errorsAs(err, tc.wantErr) {
				t.Fatalf("error %v (%T), want %T", err, err, tc.wantErr)
			}
		})
	}
}

// versionError stands for the refusal of a server that offers no TLS 1.3.
type versionError struct{}

// isVersionError reports whether err is the refusal of a TLS 1.2-only server, when that is what
// the test wants.
func isVersionError(err error, want any) bool {
	_, ok := want.(versionError)
	return ok && strings.Contains(err.Error(), "protocol version not supported")
}

// TestUnknownServerPin checks that the refusal of an unknown certificate carries its pin, which
// is what a user confirms for trust on first use: spec §4.1 [TLS-4].
func TestUnknownServerPin(t *testing.T) {
	self := newCert(t, "self-signed", true, nil)
	addr := serve(t, self, 0)
	_, err := dial(t, Policy{}, addr)
	var unknown *UnknownServerError
	if !errors.As(err, &unknown) {
		t.Fatalf("error %v, want *UnknownServerError", err)
	}
	if unknown.Pin != tlspin.Of(self.cert) || unknown.HostPort != addr {
		t.Fatalf("unknown server %s %s, want %s %s", unknown.HostPort, unknown.Pin, addr, tlspin.Of(self.cert))
	}
}

func errorsAs(err error, target any) bool {
	if _, ok := target.(versionError); ok {
		return false
	}
	return errors.As(err, target)
}
