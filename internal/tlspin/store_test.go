package tlspin

import (
	"crypto/sha256"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoadOrCreatePersists checks TLS-5: the generated certificate is kept across restarts, the
// key is readable by its owner only, and the pin is SHA-256 of the leaf's SPKI.
func TestLoadOrCreatePersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Generated {
		t.Error("first LoadOrCreate did not report a generated certificate")
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, want 0600", st.Mode().Perm())
	}
	leaf, err := x509.ParseCertificate(first.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	if first.Pin != Pin(want) {
		t.Errorf("pin = %s, want sha256:%x", first.Pin, want)
	}

	second, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.Generated {
		t.Error("second LoadOrCreate generated a new certificate")
	}
	if second.Pin != first.Pin {
		t.Errorf("pin changed across restarts: %s then %s", first.Pin, second.Pin)
	}
	read, err := ReadPin(dir)
	if err != nil {
		t.Fatal(err)
	}
	if read != first.Pin {
		t.Errorf("ReadPin = %s, want %s", read, first.Pin)
	}
	fromFile, err := PinOfFile(filepath.Join(dir, CertFile))
	if err != nil || fromFile != first.Pin {
		t.Errorf("PinOfFile = %s, %v; want %s", fromFile, err, first.Pin)
	}
}

// TestLoadOrCreateRefusesHalfPair checks that a lone certificate or key is never silently
// replaced, which would change the pin (TLS-5).
func TestLoadOrCreateRefusesHalfPair(t *testing.T) {
	for _, keep := range []string{CertFile, KeyFile} {
		t.Run(keep, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreate(dir); err != nil {
				t.Fatal(err)
			}
			other := CertFile
			if keep == CertFile {
				other = KeyFile
			}
			if err := os.Remove(filepath.Join(dir, other)); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreate(dir)
			if err == nil || !strings.Contains(err.Error(), "only one of") {
				t.Fatalf("err = %v, want a refusal naming the missing file", err)
			}
		})
	}
}

// TestLoadFiles checks an operator-supplied certificate (--tls-cert/--tls-key).
func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	generated, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadFiles(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Pin != generated.Pin || loaded.Generated {
		t.Errorf("LoadFiles = %s generated=%v, want %s", loaded.Pin, loaded.Generated, generated.Pin)
	}
	if _, err := LoadFiles(filepath.Join(dir, "missing.pem"), filepath.Join(dir, KeyFile)); err == nil {
		t.Error("LoadFiles accepted a missing certificate")
	}
}

func TestReadPinWithoutCertificate(t *testing.T) {
	_, err := ReadPin(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "start the server once") {
		t.Fatalf("err = %v, want advice to start the server once", err)
	}
}

// TestSelfSigned checks the certificate every generator of the tree now shares: a self-signed
// server certificate for the names given and both loopback addresses, valid from an hour ago.
func TestSelfSigned(t *testing.T) {
	now := time.Now()
	id, err := Ephemeral("blindpost test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := id.Cert.Leaf
	if leaf == nil || id.Generated {
		t.Fatalf("Ephemeral = leaf %v, generated %v", leaf, id.Generated)
	}
	if id.Pin != Of(leaf) {
		t.Errorf("pin %s is not the leaf's %s", id.Pin, Of(leaf))
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil || leaf.Issuer.String() != leaf.Subject.String() {
		t.Errorf("not self-signed: issuer %q, %v", leaf.Issuer, err)
	}
	if leaf.Subject.CommonName != "blindpost test" || !slices.Equal(leaf.DNSNames, []string{"localhost"}) {
		t.Errorf("subject %q, names %v", leaf.Subject.CommonName, leaf.DNSNames)
	}
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		if err := leaf.VerifyHostname(ip.String()); err != nil {
			t.Errorf("not valid for %s: %v", ip, err)
		}
	}
	if !leaf.NotBefore.Before(now) || leaf.NotAfter.Before(now.Add(59*time.Minute)) {
		t.Errorf("valid from %s to %s, want around now to an hour later", leaf.NotBefore, leaf.NotAfter)
	}
	if other, err := Ephemeral("blindpost test", time.Hour); err != nil || other.Pin == id.Pin {
		t.Errorf("a second certificate has the same pin (%v)", err)
	}
}
