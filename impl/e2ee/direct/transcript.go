package direct

import (
	"crypto/sha256"

	"github.com/blindpost/blindpost/impl/e2ee/canonical"
)

// transcript is the running hash of spec §6.2: h0 = SHA-256("blindpost/1"),
// then h = SHA-256(h || enc(field)) for each of the nine fields in order.
type transcript struct {
	h     [sha256.Size]byte
	buf   []byte
	trace *Trace
}

func newTranscript(trace *Trace) *transcript {
	t := &transcript{h: sha256.Sum256([]byte(canonical.Protocol)), trace: trace}
	if trace != nil {
		trace.H0 = clone(t.h[:])
		trace.Transcript = nil
	}
	return t
}

// absorb hashes one enc-encoded field into h.
func (t *transcript) absorb(field []byte) {
	t.buf = append(append(t.buf[:0], t.h[:]...), field...)
	t.h = sha256.Sum256(t.buf)
	if t.trace != nil {
		t.trace.Transcript = append(t.trace.Transcript, clone(t.h[:]))
	}
}

// prefix absorbs steps 1 to 6: session id, both usernames, both identity
// keys and the offered suites. spec §6.2 [HS-8]: the signatures over h then
// cover both identities, the session id and the suites, so a replayed
// signature or a downgrade is detected.
func (t *transcript) prefix(c Config, ikI, ikR []byte, offered []string) {
	t.absorb(canonical.AppendBytes(nil, c.SessionID))
	t.absorb(canonical.AppendText(nil, c.Initiator))
	t.absorb(canonical.AppendText(nil, c.Responder))
	t.absorb(canonical.AppendBytes(nil, ikI))
	t.absorb(canonical.AppendBytes(nil, ikR))
	t.absorb(canonical.AppendTextList(nil, offered))
}

// suffix absorbs steps 7 to 9: the chosen suite and both ephemerals.
func (t *transcript) suffix(chosen string, eI, eR []byte) {
	t.absorb(canonical.AppendText(nil, chosen))
	t.absorb(canonical.AppendBytes(nil, eI))
	t.absorb(canonical.AppendBytes(nil, eR))
	if t.trace != nil {
		t.trace.H = clone(t.h[:])
	}
}
