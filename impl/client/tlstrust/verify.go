package tlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/blindpost/blindpost/internal/tlspin"
)

// Method says how a server certificate was accepted.
type Method string

// The ways a certificate is accepted (spec §4.1 [TLS-2]).
const (
	MethodPin   Method = "pin"           // the pin the user gave (--server-pin)
	MethodKnown Method = "known_servers" // the pin the user confirmed earlier (TLS-4)
	MethodRoots Method = "roots"         // a chain to the system roots or to the --ca file
)

// Policy says which certificates the client accepts. The zero Policy accepts what the system
// roots accept. There is deliberately no way to accept every certificate (TLS-3).
type Policy struct {
	// Pin, when set, is the only certificate key accepted: the chain and the host name are not
	// consulted, as with SSH host keys. It overrides the other fields.
	Pin *Pin
	// Roots replaces the system roots when set (the --ca file).
	Roots *x509.CertPool
	// Known holds the pins the user confirmed on first use. A host found there is accepted with
	// its stored pin only, whatever the roots say (TLS-4). May be nil.
	Known *KnownServers
}

// Verified is what the verifier accepted on one connection.
type Verified struct {
	Pin    Pin    // the pin of the leaf certificate, for the registration proof (REG-11)
	Method Method // how it was accepted
}

// UnknownServerError reports a certificate that nothing the user configured accepts. Pin is the
// pin the user could confirm to trust the server on first use (TLS-4).
type UnknownServerError struct {
	HostPort string
	Pin      Pin
	Err      error // why the roots refused it
}

// Error names the host and the pin the user could confirm.
func (e *UnknownServerError) Error() string {
	return fmt.Sprintf("tlstrust: the certificate of %s (pin %s) is not trusted: %v", e.HostPort, e.Pin, e.Err)
}

// Unwrap returns why the roots refused the certificate.
func (e *UnknownServerError) Unwrap() error { return e.Err }

// PinMismatchError reports a certificate whose pin is not the one the user gave or confirmed.
type PinMismatchError struct {
	HostPort string
	Want     Pin
	Got      Pin
	Method   Method // MethodPin or MethodKnown: where Want came from
}

// Error names the host, the pin expected and the pin presented.
func (e *PinMismatchError) Error() string {
	where := "the --server-pin"
	if e.Method == MethodKnown {
		where = "the pin in known_servers"
	}
	return fmt.Sprintf("tlstrust: the certificate of %s has pin %s, not %s %s; refusing to connect",
		e.HostPort, e.Got, where, e.Want)
}

// LoadCAFile reads PEM certificates from path into a pool that replaces the system roots.
func LoadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlstrust: ca file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tlstrust: ca file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// Verification holds the result of the verifier of one connection.
type Verification struct {
	mu       sync.Mutex
	verified *Verified
}

// Result returns what the verifier accepted, and false when it accepted nothing (the handshake
// failed or has not run).
func (v *Verification) Result() (Verified, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verified == nil {
		return Verified{}, false
	}
	return *v.verified, true
}

func (v *Verification) set(pin Pin, m Method) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.verified = &Verified{Pin: pin, Method: m}
}

// Config returns a TLS 1.3 client configuration for one connection to hostport, and the
// Verification its verifier fills in. Use a new Config for every connection.
func (p Policy) Config(hostport string) (*tls.Config, *Verification, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, nil, fmt.Errorf("tlstrust: %w", err)
	}
	v := &Verification{}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS13, // spec §4.1 [TLS-1]
		ServerName: host,
		RootCAs:    p.Roots,
	}
	want, method, err := p.pinFor(hostport)
	if err != nil {
		return nil, nil, err
	}
	if method != "" {
		// A pinned certificate is usually self-signed, so the chain check cannot run; the pin
		// check below replaces it and runs on every connection, resumptions included
		// (VerifyConnection is called whatever InsecureSkipVerify says). spec §4.1 [TLS-2]
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyPin(cs, hostport, want, method, v)
		}
		return cfg, v, nil
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		// The standard chain and host name checks have passed when this runs.
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("tlstrust: %s sent no certificate", hostport)
		}
		v.set(tlspin.Of(cs.PeerCertificates[0]), MethodRoots)
		return nil
	}
	return cfg, v, nil
}

func (p Policy) pinFor(hostport string) (Pin, Method, error) {
	if p.Pin != nil {
		return *p.Pin, MethodPin, nil
	}
	if p.Known == nil {
		return Pin{}, "", nil
	}
	pin, ok, err := p.Known.Lookup(hostport)
	if err != nil || !ok {
		return Pin{}, "", err
	}
	return pin, MethodKnown, nil
}

func verifyPin(cs tls.ConnectionState, hostport string, want Pin, m Method, v *Verification) error {
	if cs.Version < tls.VersionTLS13 { // spec §4.1 [TLS-1]
		return fmt.Errorf("tlstrust: %s negotiated a TLS version below 1.3", hostport)
	}
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("tlstrust: %s sent no certificate", hostport)
	}
	got := tlspin.Of(cs.PeerCertificates[0])
	if got != want { // spec §4.1 [TLS-2] [TLS-4]
		return &PinMismatchError{HostPort: hostport, Want: want, Got: got, Method: m}
	}
	v.set(got, m)
	return nil
}

// Explain turns the error of a failed handshake with hostport into an *UnknownServerError when
// the roots refused the certificate, so that the caller can offer trust on first use; other
// errors are returned unchanged.
func Explain(hostport string, err error) error {
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) || len(cve.UnverifiedCertificates) == 0 {
		return err
	}
	return &UnknownServerError{HostPort: hostport, Pin: tlspin.Of(cve.UnverifiedCertificates[0]), Err: cve.Err}
}
