package direct

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/canonical"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// tb is what the helpers need from *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// party is one side's identity and name.
type party struct {
	name string
	id   *identity.PrivateKey
}

func newParty(t testing.TB, name string, seed byte) party {
	t.Helper()
	id, err := identity.FromSeed(bytes.Repeat([]byte{seed}, identity.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return party{name, id}
}

// detRand is a deterministic reader for injected ephemerals.
func detRand(seed uint64) io.Reader {
	return rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 1})
}

var sid = bytes.Repeat([]byte{0x51}, SessionIDSize)

// configs returns the initiator's and responder's configs for alice -> bob,
// each pinning the other's real key.
func configs(a, b party, seed uint64) (Config, Config) {
	ci := Config{SessionID: sid, Initiator: a.name, Responder: b.name, Identity: a.id,
		PeerIdentityKey: b.id.Public(), Rand: detRand(seed), Trace: new(Trace)}
	cr := Config{SessionID: sid, Initiator: a.name, Responder: b.name, Identity: b.id,
		PeerIdentityKey: a.id.Public(), Rand: detRand(seed + 1), Trace: new(Trace)}
	return ci, cr
}

// handshake runs a full handshake and fails the test on any error.
func handshake(t tb, ci, cr Config) (*Session, *Session) {
	t.Helper()
	i, hs1, err := NewInitiator(ci)
	if err != nil {
		t.Fatal(err)
	}
	r, hs2, err := NewResponder(cr, hs1)
	if err != nil {
		t.Fatal(err)
	}
	si, hs3, err := i.ReadHS2(hs2)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := r.ReadHS3(hs3)
	if err != nil {
		t.Fatal(err)
	}
	return si, sr
}

func pair(t testing.TB) (*Session, *Session, Config, Config) {
	t.Helper()
	ci, cr := configs(newParty(t, "alice", 1), newParty(t, "bob", 2), 7)
	si, sr := handshake(t, ci, cr)
	return si, sr, ci, cr
}

// wantOutcome fails unless err is an *e2ee.Error with outcome o and rule.
func wantOutcome(t tb, err error, o e2ee.Outcome, rule string) {
	t.Helper()
	var e *e2ee.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want %s [%s]", err, o, rule)
	}
	if e.Outcome != o || (rule != "" && e.Rule != rule) {
		t.Fatalf("got %s [%s] (%v), want %s [%s]", e.Outcome, e.Rule, err, o, rule)
	}
}

// specTranscript recomputes the transcript hash of spec §6.2 from its table.
func specTranscript(sid []byte, uI, uR string, ikI, ikR []byte, offered []string, chosen string, eI, eR []byte) [][]byte {
	h := sha256.Sum256([]byte("blindpost/1"))
	fields := [][]byte{
		canonical.AppendBytes(nil, sid), canonical.AppendText(nil, uI), canonical.AppendText(nil, uR),
		canonical.AppendBytes(nil, ikI), canonical.AppendBytes(nil, ikR), canonical.AppendTextList(nil, offered),
		canonical.AppendText(nil, chosen), canonical.AppendBytes(nil, eI), canonical.AppendBytes(nil, eR),
	}
	var steps [][]byte
	for _, f := range fields {
		h = sha256.Sum256(append(h[:], f...))
		steps = append(steps, append([]byte(nil), h[:]...))
	}
	return steps
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
