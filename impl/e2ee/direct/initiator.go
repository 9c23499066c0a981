package direct

import (
	"crypto/ecdh"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
)

// hsState is where a handshake side stands.
type hsState int

const (
	awaiting hsState = iota // waiting for the peer's next message
	finished                // produced its Session
	aborted                 // failed or abandoned; keys erased
)

// Initiator is the initiator's side of a handshake after it sent hs1.
// It can only read hs2, once.
type Initiator struct {
	cfg       Config
	eph       *ecdh.PrivateKey
	ephScalar []byte
	ephPub    []byte
	t         *transcript
	state     hsState
}

// NewInitiator starts a handshake (spec §6.3 step 1): it creates a fresh
// ephemeral key (HS-5), absorbs transcript steps 1 to 6 and returns hs1.
// The caller sends hs1 only after the peer accepted the session (HS-4).
func NewInitiator(cfg Config) (*Initiator, HS1, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, HS1{}, err
	}
	eph, scalar, err := suite.NewEphemeral(cfg.Rand) // spec §6.3 [HS-5]
	if err != nil {
		return nil, HS1{}, err
	}
	i := &Initiator{cfg: cfg, eph: eph, ephScalar: scalar, ephPub: eph.PublicKey().Bytes()}
	if tr := cfg.Trace; tr != nil {
		tr.EphemeralPrivate, tr.EphemeralPublic = clone(scalar), clone(i.ephPub)
	}
	i.t = newTranscript(cfg.Trace)
	i.t.prefix(cfg, cfg.Identity.Public(), cfg.PeerIdentityKey, cfg.Suites)
	return i, HS1{Suites: slices.Clone(cfg.Suites), E: clone(i.ephPub)}, nil
}

// ReadHS2 verifies the responder's hs2 (spec §6.3 step 3) and, when it is
// right, returns the confirmed Session and hs3. Any failure aborts the
// handshake and erases its keys (HS-12); a second call is unexpected_message
// (HS-11).
func (i *Initiator) ReadHS2(m HS2) (*Session, HS3, error) {
	if i.state != awaiting {
		return nil, HS3{}, e2ee.Reject(e2ee.UnexpectedMessage, "HS-11", "hs2 after the handshake %s", i.state)
	}
	s, hs3, err := i.readHS2(m)
	i.Abort() // spec §6.3 [HS-5]: the ephemeral serves exactly one handshake
	if err != nil {
		return nil, HS3{}, err
	}
	i.state = finished
	return s, hs3, nil
}

func (i *Initiator) readHS2(m HS2) (*Session, HS3, error) {
	cfg := i.cfg
	if !slices.Contains(cfg.Suites, m.Suite) { // spec §6.3 [HS-7]
		return nil, HS3{}, e2ee.Reject(e2ee.BadSuite, "HS-7", "hs2 names suite %q, which was not offered", m.Suite)
	}
	if cfg.Trace != nil {
		cfg.Trace.Suite, cfg.Trace.PeerEphemeral = m.Suite, clone(m.E)
	}
	i.t.suffix(m.Suite, i.ephPub, m.E)
	h := i.t.h[:]
	k, err := deriveKeys(i.eph, m.E, h, cfg.Trace)
	if err != nil {
		return nil, HS3{}, err
	}
	defer k.erase()
	if err := checkSignature(cfg.PeerIdentityKey, m.Sig, canonical.LabelResponder, h, cfg.Responder); err != nil {
		return nil, HS3{}, err
	}
	if err := checkFinished(&k.finR, h, m.Fin, cfg.Responder); err != nil {
		return nil, HS3{}, err
	}
	hs3 := HS3{Sig: cfg.Identity.Sign(signed(canonical.LabelInitiator, h)), Fin: finishedMAC(&k.finI, h)}
	if tr := cfg.Trace; tr != nil {
		tr.SigR, tr.FinR, tr.SigI, tr.FinI = clone(m.Sig), clone(m.Fin), clone(hs3.Sig), clone(hs3.Fin)
	}
	s, err := newSession(RoleInitiator, cfg, h, k)
	if err != nil {
		return nil, HS3{}, err
	}
	return s, hs3, nil
}

// Abort abandons the handshake and erases its ephemeral key, for example
// when it does not complete in time (HS-13). It is safe to call twice.
func (i *Initiator) Abort() {
	clear(i.ephScalar)
	i.eph = nil
	if i.state == awaiting {
		i.state = aborted
	}
}

// Terminate handles the peer's chat_terminate during the handshake: it
// aborts, erasing the keys, and returns unverified_end. spec §6.5 [REC-11]
func (i *Initiator) Terminate() error {
	i.Abort()
	return terminated(i.cfg.Responder)
}

func terminated(peer string) error {
	return e2ee.Reject(e2ee.UnverifiedEnd, "REC-11", "%s ended the session without a close record", peer)
}

// String says where the handshake stands, for error details.
func (s hsState) String() string {
	switch s {
	case awaiting:
		return "is awaiting a message"
	case finished:
		return "finished"
	default:
		return "was aborted"
	}
}
