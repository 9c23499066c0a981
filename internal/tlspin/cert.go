package tlspin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Identity is a loaded TLS certificate and the pin of its leaf.
type Identity struct {
	Cert      tls.Certificate
	Pin       Pin
	Generated bool // true when LoadOrCreate generated the certificate just now
}

// SelfSigned returns a new self-signed ECDSA P-256 server certificate named commonName, for the
// host names hosts and the loopback addresses 127.0.0.1 and ::1, valid from an hour before now
// (a little clock skew between peers does not matter) for validity, and its private key, both
// PEM encoded (the key as PKCS #8), as LoadOrCreate keeps them on disk.
func SelfSigned(commonName string, hosts []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlspin: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tlspin: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              hosts,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlspin: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlspin: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}

// Ephemeral returns a new self-signed certificate for localhost and the loopback addresses,
// valid for validity and kept in memory only: for the in-process relays, proxies and test
// relays whose clients are given its pin (the wiretap, the client conformance suite).
func Ephemeral(commonName string, validity time.Duration) (*Identity, error) {
	certPEM, keyPEM, err := SelfSigned(commonName, []string{"localhost"}, time.Now(), validity)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlspin: %w", err)
	}
	return identityOf(cert, false)
}

func identityOf(cert tls.Certificate, generated bool) (*Identity, error) {
	if len(cert.Certificate) == 0 {
		return nil, errors.New("tlspin: the certificate chain is empty")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("tlspin: parse leaf: %w", err)
	}
	cert.Leaf = leaf
	return &Identity{Cert: cert, Pin: Of(leaf), Generated: generated}, nil
}
