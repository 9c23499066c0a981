package direct

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// Suite is the one cipher suite of protocol version 1. spec §6.2
const Suite = "x25519-hkdf-sha256-aes256gcm"

// SessionIDSize is the size of a session id. spec §5.1, §6.1 [HS-1]
const SessionIDSize = 16

// NewSessionID returns a fresh 16-byte session id from r, or from
// crypto/rand when r is nil. The initiator never reuses one. spec §6.1 [HS-1]
func NewSessionID(r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	sid := make([]byte, SessionIDSize)
	if _, err := io.ReadFull(r, sid); err != nil {
		return nil, fmt.Errorf("e2ee: read session id: %w", err)
	}
	return sid, nil
}

// supportedSuites lists the suites this implementation can run.
var supportedSuites = []string{Suite}

// Config is what one side knows before a handshake starts.
type Config struct {
	// SessionID is the 16-byte id the initiator chose at random (HS-1).
	SessionID []byte
	// Initiator and Responder are the usernames of the two parties, as the
	// server stamped them (from) or the client addressed them (to).
	Initiator, Responder string
	// Identity is this side's identity key.
	Identity *identity.PrivateKey
	// PeerIdentityKey is the peer's PINNED identity key (HS-2, TRUST-3):
	// every peer signature is verified with it.
	PeerIdentityKey ed25519.PublicKey
	// Suites are the suites offered, most preferred first (initiator), or
	// supported (responder). Nil means []string{Suite}.
	Suites []string
	// Rand supplies the ephemeral key; nil means crypto/rand. Tests and
	// vectors inject a deterministic reader.
	Rand io.Reader
	// Trace, when not nil, receives every intermediate value of this side's
	// handshake, secrets included, for test vectors. Never set it in
	// production.
	Trace *Trace
}

// check validates cfg and returns a copy that the handshake owns.
func (c Config) check() (Config, error) {
	switch {
	case len(c.SessionID) != SessionIDSize:
		return c, fmt.Errorf("e2ee: session id is %d bytes, want %d", len(c.SessionID), SessionIDSize)
	case c.Initiator == "" || c.Responder == "":
		return c, errors.New("e2ee: both usernames are required")
	case c.Initiator == c.Responder:
		return c, errors.New("e2ee: a session needs two different users")
	case c.Identity == nil:
		return c, errors.New("e2ee: no identity key")
	case len(c.PeerIdentityKey) != ed25519.PublicKeySize:
		return c, fmt.Errorf("e2ee: peer identity key is %d bytes, want %d", len(c.PeerIdentityKey), ed25519.PublicKeySize)
	}
	if c.Suites == nil {
		c.Suites = supportedSuites
	}
	if len(c.Suites) == 0 {
		return c, errors.New("e2ee: no suites")
	}
	for _, s := range c.Suites {
		if !slices.Contains(supportedSuites, s) {
			return c, fmt.Errorf("e2ee: unsupported suite %q", s)
		}
	}
	c.SessionID = slices.Clone(c.SessionID)
	c.Suites = slices.Clone(c.Suites)
	c.PeerIdentityKey = slices.Clone(c.PeerIdentityKey)
	return c, nil
}
