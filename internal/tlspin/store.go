package tlspin

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The files of a generated certificate inside a data directory (LoadOrCreate).
const (
	CertFile = "server-cert.pem" // the self-signed certificate, PEM
	KeyFile  = "server-key.pem"  // its ECDSA P-256 private key, PKCS #8 PEM, mode 0600
)

// serverName is the subject of the certificates LoadOrCreate generates.
const serverName = "blindpost-server"

// validity is how long a generated certificate is valid. Clients pin the key, not the name or
// the dates, so a long validity only avoids a pin change that nobody asked for.
const validity = 20 * 365 * 24 * time.Hour

// LoadFiles loads an operator-supplied certificate chain and key (PEM).
func LoadFiles(certFile, keyFile string) (*Identity, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlspin: load %s and %s: %w", certFile, keyFile, err)
	}
	return identityOf(cert, false)
}

// LoadOrCreate loads the certificate persisted in dir, generating and persisting a new one when
// neither file exists yet: self-signed, for localhost, the loopback addresses and this machine's
// host name, the key readable by its owner only. It refuses to replace a half-present pair,
// because a new key would change the pin every client stored (spec §4.1 [TLS-5]).
func LoadOrCreate(dir string) (*Identity, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certOK, keyOK := exists(certPath), exists(keyPath)
	switch {
	case certOK && keyOK:
		return LoadFiles(certPath, keyPath)
	case certOK || keyOK:
		return nil, fmt.Errorf("tlspin: only one of %s and %s exists; restore the other or remove both to generate a new certificate (clients will then see a new pin)", certPath, keyPath)
	}
	// spec §4.1 [TLS-5]: generate once, persist, reuse on every restart.
	certPEM, keyPEM, err := SelfSigned(serverName, hostNames(), time.Now(), validity)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlspin: create %s: %w", dir, err)
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

// hostNames returns localhost and this machine's host name.
func hostNames() []string {
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	return names
}

// ReadPin returns the pin of the certificate persisted in dir without generating one.
func ReadPin(dir string) (Pin, error) {
	certPath := filepath.Join(dir, CertFile)
	raw, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		return Pin{}, fmt.Errorf("tlspin: no certificate in %s yet: start the server once with --data %s to generate it", dir, dir)
	}
	if err != nil {
		return Pin{}, fmt.Errorf("tlspin: %w", err)
	}
	return pinOfPEM(certPath, raw)
}

// PinOfFile returns the pin of the leaf certificate in a PEM file.
func PinOfFile(certFile string) (Pin, error) {
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return Pin{}, fmt.Errorf("tlspin: %w", err)
	}
	return pinOfPEM(certFile, raw)
}

func pinOfPEM(name string, raw []byte) (Pin, error) {
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return Pin{}, fmt.Errorf("tlspin: %s holds no PEM certificate", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Pin{}, fmt.Errorf("tlspin: parse %s: %w", name, err)
	}
	return Of(cert), nil
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
		return fmt.Errorf("tlspin: write %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("tlspin: write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("tlspin: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tlspin: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tlspin: write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("tlspin: write %s: %w", path, err)
	}
	return nil
}
