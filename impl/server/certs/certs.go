// Package certs gives the relay its TLS certificate and the server pin of spec §4.1.
//
// Without an operator-supplied certificate the server generates a self-signed ECDSA P-256
// certificate on first start and persists it in its data directory, the key readable by its owner
// only, so that the pin clients stored stays valid across restarts (spec §4.1 [TLS-5]). The pin is
// SHA-256 of the DER SubjectPublicKeyInfo of the leaf certificate, written "sha256:" followed by
// 64 lowercase hex digits.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The files of a generated certificate inside the data directory.
const (
	CertFile = "server-cert.pem" // the self-signed certificate, PEM
	KeyFile  = "server-key.pem"  // its ECDSA P-256 private key, PKCS #8 PEM, mode 0600
)

// PinPrefix introduces the hex SHA-256 of a pin in text (spec §4.1).
const PinPrefix = "sha256:"

// validity is how long a generated certificate is valid. Clients pin the key, not the name or
// the dates, so a long validity only avoids a pin change that nobody asked for.
const validity = 20 * 365 * 24 * time.Hour

// Pin is the server pin of spec §4.1: SHA-256 of the DER SubjectPublicKeyInfo of the leaf.
type Pin [sha256.Size]byte

// String returns "sha256:" followed by 64 lowercase hex digits.
func (p Pin) String() string { return PinPrefix + hex.EncodeToString(p[:]) }

// Bytes returns a copy of the 32 bytes of the pin, as the registration proof encodes them.
func (p Pin) Bytes() []byte { return append([]byte(nil), p[:]...) }

// PinOf returns the pin of cert.
func PinOf(cert *x509.Certificate) Pin { return sha256.Sum256(cert.RawSubjectPublicKeyInfo) }

// ParsePin parses the text form of a pin: "sha256:" and exactly 64 lowercase hex digits.
func ParsePin(s string) (Pin, error) {
	var p Pin
	rest, ok := strings.CutPrefix(s, PinPrefix)
	if !ok || len(rest) != 2*len(p) || strings.ToLower(rest) != rest {
		return p, fmt.Errorf("certs: pin %q is not %q followed by 64 lowercase hex digits", s, PinPrefix)
	}
	if _, err := hex.Decode(p[:], []byte(rest)); err != nil {
		return p, fmt.Errorf("certs: pin %q: %w", s, err)
	}
	return p, nil
}

// Identity is a loaded TLS certificate and the pin of its leaf.
type Identity struct {
	Cert      tls.Certificate
	Pin       Pin
	Generated bool // true when LoadOrCreate generated the certificate just now
}

// LoadFiles loads an operator-supplied certificate chain and key (PEM).
func LoadFiles(certFile, keyFile string) (*Identity, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: load %s and %s: %w", certFile, keyFile, err)
	}
	return identityOf(cert, false)
}

// LoadOrCreate loads the certificate persisted in dir, generating and persisting a new one when
// neither file exists yet. It refuses to replace a half-present pair, because a new key would
// change the pin every client stored (spec §4.1 [TLS-5]).
func LoadOrCreate(dir string) (*Identity, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certOK, keyOK := exists(certPath), exists(keyPath)
	switch {
	case certOK && keyOK:
		return LoadFiles(certPath, keyPath)
	case certOK || keyOK:
		return nil, fmt.Errorf("certs: only one of %s and %s exists; restore the other or remove both to generate a new certificate (clients will then see a new pin)", certPath, keyPath)
	}
	// spec §4.1 [TLS-5]: generate once, persist, reuse on every restart.
	certPEM, keyPEM, err := Generate(time.Now())
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: create %s: %w", dir, err)
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	id, err := LoadFiles(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	id.Generated = true
	return id, nil
}

// ReadPin returns the pin of the certificate persisted in dir without generating one.
func ReadPin(dir string) (Pin, error) {
	certPath := filepath.Join(dir, CertFile)
	raw, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Pin{}, fmt.Errorf("certs: no certificate in %s yet: start the server once with --data %s to generate it", dir, dir)
	}
	if err != nil {
		return Pin{}, fmt.Errorf("certs: %w", err)
	}
	return pinOfPEM(certPath, raw)
}

// PinOfFile returns the pin of the leaf certificate in a PEM file.
func PinOfFile(certFile string) (Pin, error) {
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return Pin{}, fmt.Errorf("certs: %w", err)
	}
	return pinOfPEM(certFile, raw)
}

func pinOfPEM(name string, raw []byte) (Pin, error) {
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return Pin{}, fmt.Errorf("certs: %s holds no PEM certificate", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Pin{}, fmt.Errorf("certs: parse %s: %w", name, err)
	}
	return PinOf(cert), nil
}

// Generate returns a new self-signed ECDSA P-256 certificate valid from now, for localhost, the
// loopback addresses and this machine's host name, and its private key, both PEM encoded.
func Generate(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: serial: %w", err)
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "blindpost-server"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}

func identityOf(cert tls.Certificate, generated bool) (*Identity, error) {
	if len(cert.Certificate) == 0 {
		return nil, errors.New("certs: the certificate chain is empty")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("certs: parse leaf: %w", err)
	}
	cert.Leaf = leaf
	return &Identity{Cert: cert, Pin: PinOf(leaf), Generated: generated}, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// writeFileAtomic writes data to a temporary file with mode perm and renames it into place, so a
// crash never leaves a truncated key behind.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	return nil
}
