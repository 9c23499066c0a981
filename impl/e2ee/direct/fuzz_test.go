package direct

import (
	"bytes"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/vectors"
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
	// Every record of vectors/records.json, positive and negative (VEC-1).
	var v vectors.Records
	if err := vectors.Load("records", &v); err != nil {
		f.Fatal(err)
	}
	seeds := 0
	for _, s := range v.Sessions {
		for _, r := range s.Records {
			f.Add(r.Kind, uint64(r.N), []byte(r.CT))
			seeds++
		}
	}
	for _, c := range v.Negative {
		for _, st := range c.Steps {
			if st.N != nil {
				f.Add(st.Kind, uint64(*st.N), []byte(st.CT))
				seeds++
			}
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds from vectors/records.json")
	}
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
	// Every hs2 of vectors/handshake.json, positive and negative (VEC-1):
	// low-order points, wrong suites, forged and misbound signatures.
	var v vectors.Handshake
	if err := vectors.Load("handshake", &v); err != nil {
		f.Fatal(err)
	}
	seeds := 0
	for _, c := range v.Handshakes {
		f.Add(c.Suite, []byte(c.ResponderEphemeral.Public), []byte(c.SigR), []byte(c.FinR))
		seeds++
	}
	for _, c := range v.Negative {
		for _, st := range c.Steps {
			if st.HS2 != nil {
				f.Add(st.HS2.Suite, []byte(st.HS2.E), []byte(st.HS2.Sig), []byte(st.HS2.Fin))
				seeds++
			}
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds from vectors/handshake.json")
	}
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
