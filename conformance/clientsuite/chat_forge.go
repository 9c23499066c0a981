package clientsuite

import (
	"cmp"
	"crypto/ecdh"
	"runtime"
	"slices"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// OtherSuite is a well-formed suite id that no implementation of version 1 supports.
const OtherSuite = "x448-hkdf-sha512-chacha20poly1305"

// HS2Forge says how the peer, answering the client's hs1, departs from the honest hs2. The zero
// value is the honest hs2.
type HS2Forge struct {
	Offered []string             // the suites the transcript says were offered (default: the client's hs1)
	Chosen  string               // the suite chosen, signed and sent (default Suite)
	E       []byte               // an ephemeral public key to send instead of a fresh one; dh is then all zero
	Sign    func(*Transcript)    // alters the transcript the signature covers
	Label   string               // the signature label (default the responder's)
	Signer  *identity.PrivateKey // signs instead of the peer
	Msg     func(*wire.HS2)      // alters the message once signed and MACed
}

// HS1Forge says how the peer, as initiator, departs from the honest hs1.
type HS1Forge struct {
	Suites []string // offered (default Suite alone)
	E      []byte   // an ephemeral public key to send instead of a fresh one
}

// HS3Forge says how the peer departs from the honest hs3. The zero value is the honest hs3.
type HS3Forge struct {
	Sign   func(*Transcript)    // alters the transcript the signature covers
	Label  string               // the signature label (default the initiator's)
	Signer *identity.PrivateKey // signs instead of the peer
	Msg    func(*wire.HS3)      // alters the message once signed and MACed
}

// forged is the peer's side of a handshake computed by forge.go.
type forged struct {
	tr   Transcript
	eph  *ecdh.PrivateKey
	keys HSKeys
}

// transcript returns the fields both sides know before the ephemerals: the session, the names
// and the pinned keys of the roles.
func (c *Chat) transcript(offered []string, chosen string) Transcript {
	tr := Transcript{SessionID: c.SID, Offered: offered, Chosen: cmp.Or(chosen, direct.Suite)}
	me, peer := c.w.Me, c.Peer
	if c.ClientInitiated {
		tr.Initiator, tr.Responder, tr.IKI, tr.IKR = me.User, peer.Name, me.IdentityKey, peer.Key.Public()
	} else {
		tr.Initiator, tr.Responder, tr.IKI, tr.IKR = peer.Name, me.User, peer.Key.Public(), me.IdentityKey
	}
	return tr
}

// ForgeHS2 computes the peer's hs2 for the client's hs1 as f says.
func (c *Chat) ForgeHS2(f HS2Forge) *wire.HS2 {
	tr := c.transcript(orList(f.Offered, c.HS1.Suites), f.Chosen)
	tr.EI = c.HS1.E
	dh := make([]byte, 32) // the all-zero output a low-order point gives
	if f.E != nil {
		tr.ER = f.E
	} else {
		eph := c.w.Ephemeral()
		tr.ER = eph.PublicKey().Bytes()
		var err error
		if dh, err = DH(eph, c.HS1.E); err != nil {
			c.w.T.Fatalf("the client's hs1 ephemeral is unusable: %v", err)
		}
	}
	h := tr.Hash()
	keys, err := DeriveHSKeys(dh, h)
	if err != nil {
		c.w.T.Fatalf("%v", err)
	}
	signed := tr
	if f.Sign != nil {
		f.Sign(&signed)
	}
	signer := cmp.Or(f.Signer, c.Peer.Key)
	m := &wire.HS2{Suite: tr.Chosen, E: tr.ER, Sig: SignHS(signer, cmp.Or(f.Label, canonical.LabelResponder), signed.Hash()), Fin: FinishedMAC(keys.FinR, h)}
	if f.Msg != nil {
		f.Msg(m)
	}
	return m
}

// ForgeHS1 sends the peer's hs1 as f says, keeping what the peer needs to read hs2.
func (c *Chat) ForgeHS1(f HS1Forge) *forged {
	fs := &forged{tr: c.transcript(orList(f.Suites, []string{direct.Suite}), "")}
	if f.E != nil {
		fs.tr.EI = f.E
	} else {
		fs.eph = c.w.Ephemeral()
		fs.tr.EI = fs.eph.PublicKey().Bytes()
	}
	c.HS1 = &wire.HS1{Suites: fs.tr.Offered, E: fs.tr.EI}
	c.Peer.Relay(c.SID, c.HS1)
	return fs
}

// ReadHS2 takes the client's hs2 and checks it as an honest initiator does: a suite that was
// offered, supported and first (HS-7), the signature with the client's registered key (HS-8)
// and the Finished MAC (HS-9). It stops the case when the hs2 is wrong.
func (c *Chat) ReadHS2(fs *forged) *wire.HS2 {
	m := c.AwaitHS2()
	if m.Suite != direct.Suite || !slices.Contains(fs.tr.Offered, m.Suite) {
		c.w.T.FatalMismatch("HS-7", "hs2 choosing "+direct.Suite+", the first offered suite version 1 supports", "suite "+m.Suite)
	}
	fs.tr.Chosen, fs.tr.ER = m.Suite, m.E
	dh, err := DH(fs.eph, m.E)
	if err != nil {
		c.w.T.FatalMismatch("HS-5", "a fresh ephemeral in hs2", err.Error())
	}
	h := fs.tr.Hash()
	if fs.keys, err = DeriveHSKeys(dh, h); err != nil {
		c.w.T.Fatalf("%v", err)
	}
	if !VerifyHS(c.w.Me.IdentityKey, canonical.LabelResponder, h, m.Sig) {
		c.w.T.FatalMismatch("HS-8", "hs2 signed by the client's identity key over the transcript", "a signature that does not verify")
	}
	if string(FinishedMAC(fs.keys.FinR, h)) != string(m.Fin) {
		c.w.T.FatalMismatch("HS-9", "hs2 with the responder's Finished MAC", "a Finished MAC that differs")
	}
	return m
}

// ForgeHS3 computes the peer's hs3 as f says, after ReadHS2.
func (c *Chat) ForgeHS3(fs *forged, f HS3Forge) *wire.HS3 {
	h := fs.tr.Hash()
	signed := fs.tr
	if f.Sign != nil {
		f.Sign(&signed)
	}
	signer := cmp.Or(f.Signer, c.Peer.Key)
	m := &wire.HS3{Sig: SignHS(signer, cmp.Or(f.Label, canonical.LabelInitiator), signed.Hash()), Fin: FinishedMAC(fs.keys.FinI, h)}
	if f.Msg != nil {
		f.Msg(m)
	}
	return m
}

// ExpectAborted checks, after a rejected handshake message, that the session never became
// secured and that the client sent nothing more for it but chat_terminate (HS-8, HS-12).
func (c *Chat) ExpectAborted(rule string) {
	c.w.Sync()
	c.w.Never(rule, "secured session "+c.ID, SessionState(c.ID, "secured"))
	for _, m := range c.Peer.Pending() {
		if r, ok := m.(*wire.Relay); ok && string(r.Session) == string(c.SID) {
			c.w.T.MismatchMsg(rule, "no handshake message or record after the rejection", r.Payload.PayloadKind(),
				"the client went on with session %s after rejecting it", c.ID)
			runtime.Goexit()
		}
	}
}

// orList returns list, or def when list is empty.
func orList(list, def []string) []string {
	if len(list) == 0 {
		return def
	}
	return list
}
