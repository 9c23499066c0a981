package direct

import (
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/internal/suite"
)

// Responder is the responder's side of a handshake after it sent hs2. It
// holds the derived keys but no Session: it can only read hs3, once.
type Responder struct {
	cfg   Config
	h     []byte
	k     *keys
	state hsState
}

// NewResponder answers hs1 (spec §6.3 step 2): it picks the first offered
// suite it supports, creates a fresh ephemeral, computes h, dh and the keys,
// and returns hs2. The caller answers hs1 only for a session it accepted
// (HS-3).
func NewResponder(cfg Config, m HS1) (*Responder, HS2, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, HS2{}, err
	}
	chosen, err := chooseSuite(m.Suites, cfg.Suites)
	if err != nil {
		return nil, HS2{}, err
	}
	eph, scalar, err := suite.NewEphemeral(cfg.Rand) // spec §6.3 [HS-5]
	if err != nil {
		return nil, HS2{}, err
	}
	defer clear(scalar) // spec §6.3 [HS-5]: erased once the keys are derived
	ePub := eph.PublicKey().Bytes()
	if tr := cfg.Trace; tr != nil {
		tr.EphemeralPrivate, tr.EphemeralPublic = clone(scalar), clone(ePub)
		tr.PeerEphemeral, tr.Suite = clone(m.E), chosen
	}
	t := newTranscript(cfg.Trace)
	t.prefix(cfg, cfg.PeerIdentityKey, cfg.Identity.Public(), m.Suites)
	t.suffix(chosen, m.E, ePub)
	h := clone(t.h[:])
	k, err := deriveKeys(eph, m.E, h, cfg.Trace)
	if err != nil {
		return nil, HS2{}, err
	}
	hs2 := HS2{
		Suite: chosen,
		E:     ePub,
		Sig:   cfg.Identity.Sign(signed(canonical.LabelResponder, h)),
		Fin:   finishedMAC(&k.finR, h),
	}
	if tr := cfg.Trace; tr != nil {
		tr.SigR, tr.FinR = clone(hs2.Sig), clone(hs2.Fin)
	}
	return &Responder{cfg: cfg, h: h, k: k}, hs2, nil
}

// chooseSuite returns the first offered suite that is supported.
// spec §6.3 [HS-7]
func chooseSuite(offered, supported []string) (string, error) {
	for _, s := range offered {
		if slices.Contains(supported, s) {
			return s, nil
		}
	}
	return "", e2ee.Reject(e2ee.BadSuite, "HS-7", "none of the %d offered suites is supported", len(offered))
}

// ReadHS3 verifies the initiator's hs3 (spec §6.3 step 4) and returns the
// confirmed Session. Any failure aborts the handshake and erases its keys
// (HS-12); a second call is unexpected_message (HS-11).
func (r *Responder) ReadHS3(m HS3) (*Session, error) {
	if r.state != awaiting {
		return nil, e2ee.Reject(e2ee.UnexpectedMessage, "HS-11", "hs3 after the handshake %s", r.state)
	}
	defer r.Abort()
	cfg := r.cfg
	if err := checkSignature(cfg.PeerIdentityKey, m.Sig, canonical.LabelInitiator, r.h, cfg.Initiator); err != nil {
		return nil, err
	}
	if err := checkFinished(&r.k.finI, r.h, m.Fin, cfg.Initiator); err != nil {
		return nil, err
	}
	if tr := cfg.Trace; tr != nil {
		tr.SigI, tr.FinI = clone(m.Sig), clone(m.Fin)
	}
	s, err := newSession(RoleResponder, cfg, r.h, r.k)
	if err != nil {
		return nil, err
	}
	r.state = finished
	return s, nil
}

// Abort abandons the handshake and erases its keys (HS-12, HS-13). It is
// safe to call twice.
func (r *Responder) Abort() {
	r.k.erase()
	r.k = nil
	if r.state == awaiting {
		r.state = aborted
	}
}

// Terminate handles the peer's chat_terminate before hs3: it aborts, erasing
// the keys, and returns unverified_end. spec §6.5 [REC-11]
func (r *Responder) Terminate() error {
	r.Abort()
	return terminated(r.cfg.Initiator)
}
