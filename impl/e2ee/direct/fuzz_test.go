package direct

import (
	"bytes"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
)

// FuzzOpen feeds arbitrary records to a session: Open never panics, opens
// nothing but the one genuine record, and every rejection is a typed error
// with no plaintext (REC-3 to REC-6).
func FuzzOpen(f *testing.F) {
	si, _, _, _ := pair(f)
	rec, _ := si.Seal(nil, []byte(`{"text":"seed","sent_at":1}`))
	f.Add("msg", uint64(0), rec.CT)
	f.Add("close", uint64(1), rec.CT[:16])
	f.Add("hs1", uint64(1<<40), []byte{})
	f.Fuzz(func(t *testing.T, kind string, n uint64, ct []byte) {
		_, sr, _, _ := pair(t)
		pt, err := sr.Open(nil, Record{Kind: Kind(kind), N: n, CT: ct})
		if err == nil && kind == string(rec.Kind) && n == rec.N && bytes.Equal(ct, rec.CT) {
			return // the genuine record (pair is deterministic)
		}
		var e *e2ee.Error
		if !errors.As(err, &e) || pt != nil {
			t.Fatalf("Open(%q, %d, %x) = %x, %v", kind, n, ct, pt, err)
		}
	})
}

// FuzzReadHS2 feeds arbitrary hs2 messages to an initiator: it never panics
// and never returns a session.
func FuzzReadHS2(f *testing.F) {
	f.Add(Suite, make([]byte, 32), make([]byte, 64), make([]byte, 32))
	f.Add("", []byte{1}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, suite string, e, sig, fin []byte) {
		ci, _ := configs(newParty(t, "alice", 1), newParty(t, "bob", 2), 3)
		i, _, err := NewInitiator(ci)
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := i.ReadHS2(HS2{Suite: suite, E: e, Sig: sig, Fin: fin})
		var typed *e2ee.Error
		if s != nil || !errors.As(err, &typed) {
			t.Fatalf("ReadHS2 = %v, %v", s, err)
		}
	})
}
