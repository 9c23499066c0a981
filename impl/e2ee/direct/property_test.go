package direct

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"pgregory.net/rapid"
)

var usernames = rapid.StringMatching(`[a-z0-9][a-z0-9_.-]{0,31}`)

// drawPair draws two distinct users with random identities and configs.
func drawPair(t *rapid.T) (Config, Config) {
	nameI := usernames.Draw(t, "initiator")
	nameR := usernames.Filter(func(s string) bool { return s != nameI }).Draw(t, "responder")
	idI, _ := identity.FromSeed(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seedI"))
	idR, _ := identity.FromSeed(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "seedR"))
	s := rapid.SliceOfN(rapid.Byte(), SessionIDSize, SessionIDSize).Draw(t, "sid")
	seed := rapid.Uint64().Draw(t, "rand")
	ci := Config{SessionID: s, Initiator: nameI, Responder: nameR, Identity: idI,
		PeerIdentityKey: idR.Public(), Rand: detRand(seed), Trace: new(Trace)}
	cr := Config{SessionID: s, Initiator: nameI, Responder: nameR, Identity: idR,
		PeerIdentityKey: idI.Public(), Rand: detRand(seed ^ 0xff), Trace: new(Trace)}
	return ci, cr
}

// TestPropHonest: honest parties always complete the handshake, agree on
// every key, and every record each sends opens to its plaintext at the
// other (HS-5 to HS-10, REC-1).
func TestPropHonest(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ci, cr := drawPair(t)
		si, sr := handshake(t, ci, cr)
		a, b := ci.Trace, cr.Trace
		for _, f := range [][2][]byte{{a.H, b.H}, {a.DH, b.DH}, {a.PRK, b.PRK}, {a.KeyI2R, b.KeyI2R},
			{a.IVI2R, b.IVI2R}, {a.KeyR2I, b.KeyR2I}, {a.IVR2I, b.IVR2I}, {a.FinishedKeyI, b.FinishedKeyI}, {a.FinishedKeyR, b.FinishedKeyR}} {
			if !bytes.Equal(f[0], f[1]) {
				t.Fatal("sides disagree on a key")
			}
		}
		msgs := rapid.SliceOfN(rapid.SliceOf(rapid.Byte()), 1, 8).Draw(t, "msgs")
		for i, m := range msgs {
			from, to := si, sr
			if i%2 == 1 {
				from, to = sr, si
			}
			rec, err := from.Seal(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := to.Open(nil, rec)
			if err != nil || !bytes.Equal(pt, m) {
				t.Fatalf("record %d: %v", i, err)
			}
		}
	})
}

// flipBit flips bit i (mod len*8) of a copy of b.
func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	if len(c) == 0 {
		return []byte{1}
	}
	i %= len(c) * 8
	c[i/8] ^= 1 << (i % 8)
	return c
}

func flipString(s string, i int) string { return string(flipBit([]byte(s), i)) }

// TestPropHandshakeBitFlip: flipping any bit of any field of any handshake
// message gives the typed error its field calls for, and no session
// (HS-6 to HS-9).
func TestPropHandshakeBitFlip(t *testing.T) {
	fields := []string{"hs1.suites", "hs1.e", "hs2.suite", "hs2.e", "hs2.sig", "hs2.fin", "hs3.sig", "hs3.fin"}
	want := map[string]e2ee.Outcome{
		"hs1.suites": e2ee.BadSuite, "hs1.e": e2ee.BadSignature, "hs2.suite": e2ee.BadSuite,
		"hs2.e": e2ee.BadSignature, "hs2.sig": e2ee.BadSignature, "hs2.fin": e2ee.BadFinished,
		"hs3.sig": e2ee.BadSignature, "hs3.fin": e2ee.BadFinished,
	}
	rapid.Check(t, func(t *rapid.T) {
		ci, cr := drawPair(t)
		field := rapid.SampledFrom(fields).Draw(t, "field")
		bit := rapid.IntRange(0, 1<<12).Draw(t, "bit")
		err := tamperedHandshake(ci, cr, field, bit)
		if !errors.Is(err, want[field]) && !errors.Is(err, e2ee.LowOrderPoint) {
			t.Fatalf("%s bit %d: got %v, want %s", field, bit, err, want[field])
		}
	})
}

// tamperedHandshake runs a handshake with one bit of one field flipped and
// returns the first error; a session returned despite the flip is an error.
func tamperedHandshake(ci, cr Config, field string, bit int) error {
	i, hs1, err := NewInitiator(ci)
	if err != nil {
		return err
	}
	switch field {
	case "hs1.suites":
		hs1.Suites = []string{flipString(hs1.Suites[0], bit)}
	case "hs1.e":
		hs1.E = flipBit(hs1.E, bit)
	}
	r, hs2, err := NewResponder(cr, hs1)
	if err != nil {
		return err
	}
	switch field {
	case "hs2.suite":
		hs2.Suite = flipString(hs2.Suite, bit)
	case "hs2.e":
		hs2.E = flipBit(hs2.E, bit)
	case "hs2.sig":
		hs2.Sig = flipBit(hs2.Sig, bit)
	case "hs2.fin":
		hs2.Fin = flipBit(hs2.Fin, bit)
	}
	si, hs3, err := i.ReadHS2(hs2)
	if err != nil {
		return err
	}
	switch field {
	case "hs3.sig":
		hs3.Sig = flipBit(hs3.Sig, bit)
	case "hs3.fin":
		hs3.Fin = flipBit(hs3.Fin, bit)
	}
	sr, err := r.ReadHS3(hs3)
	if err != nil {
		return err
	}
	return fmt.Errorf("sessions %p %p established despite a flipped %s", si, sr, field)
}

// TestPropRecordBitFlip: flipping any bit of a record's ciphertext or counter
// gives bad_tag or replayed_counter and never any plaintext (REC-3, REC-5,
// REC-6).
func TestPropRecordBitFlip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ci, cr := drawPair(t)
		si, sr := handshake(t, ci, cr)
		sent := rapid.IntRange(1, 5).Draw(t, "sent")
		var recs []Record
		for k := 0; k < sent; k++ {
			r, _ := si.Seal(nil, rapid.SliceOf(rapid.Byte()).Draw(t, "pt"))
			recs = append(recs, r)
		}
		delivered := rapid.IntRange(0, sent-1).Draw(t, "delivered")
		for _, r := range recs[:delivered] {
			if _, err := sr.Open(nil, r); err != nil {
				t.Fatal(err)
			}
		}
		r := recs[delivered]
		if rapid.Bool().Draw(t, "counter") {
			bits := make([]byte, 8)
			bits[7-rapid.IntRange(0, 7).Draw(t, "byte")] = 1 << rapid.IntRange(0, 7).Draw(t, "bit")
			r.N ^= uint64(bits[0])<<56 | uint64(bits[1])<<48 | uint64(bits[2])<<40 | uint64(bits[3])<<32 |
				uint64(bits[4])<<24 | uint64(bits[5])<<16 | uint64(bits[6])<<8 | uint64(bits[7])
		} else {
			r.CT = flipBit(r.CT, rapid.IntRange(0, 1<<16).Draw(t, "ctbit"))
		}
		pt, err := sr.Open(nil, r)
		if pt != nil {
			t.Fatal("REC-6: plaintext released")
		}
		switch {
		case errors.Is(err, e2ee.ReplayedCounter):
			if delivered == 0 || r.N >= uint64(delivered) {
				t.Fatalf("replayed_counter for a fresh counter %d", r.N)
			}
		case errors.Is(err, e2ee.BadTag):
			if sr.State() != StateFailed {
				t.Fatal("REC-5: session survived bad_tag")
			}
		default:
			t.Fatalf("got %v", err)
		}
	})
}

// TestPropAdversarialRelay drives two sessions through a malicious relay that
// delivers, replays, reorders and reflects records at random (a reflected
// record is one with sender and recipient swapped: sent back to its sender). Honest
// in-order delivery always opens; every attack is rejected with its typed
// outcome and leaves both sessions working (REC-3, REC-4).
func TestPropAdversarialRelay(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ci, cr := drawPair(t)
		si, sr := handshake(t, ci, cr)
		ends := []*Session{si, sr}
		var queue [2][]Record     // sent and not yet delivered, per sender
		var delivered [2][]Record // delivered, per sender
		var highest [2]int64      // highest counter each receiver accepted
		highest[0], highest[1] = -1, -1
		t.Repeat(map[string]func(*rapid.T){
			"send": func(t *rapid.T) {
				k := rapid.IntRange(0, 1).Draw(t, "side")
				rec, err := ends[k].Seal(nil, rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "pt"))
				if err != nil {
					t.Fatal(err)
				}
				queue[k] = append(queue[k], rec)
			},
			"deliver": func(t *rapid.T) {
				k := rapid.IntRange(0, 1).Draw(t, "side")
				if len(queue[k]) == 0 {
					t.Skip("nothing queued")
				}
				j := rapid.IntRange(0, len(queue[k])-1).Draw(t, "which") // may skip some: gaps are fine
				rec := queue[k][j]
				_, err := ends[1-k].Open(nil, rec)
				if int64(rec.N) <= highest[1-k] {
					wantOutcome(t, err, e2ee.ReplayedCounter, "REC-3")
				} else if err != nil {
					t.Fatal(err)
				} else {
					highest[1-k] = int64(rec.N)
				}
				delivered[k] = append(delivered[k], rec)
				queue[k] = slices.Delete(queue[k], j, j+1)
			},
			"replay": func(t *rapid.T) {
				k := rapid.IntRange(0, 1).Draw(t, "side")
				if len(delivered[k]) == 0 {
					t.Skip("nothing delivered")
				}
				rec := rapid.SampledFrom(delivered[k]).Draw(t, "rec")
				_, err := ends[1-k].Open(nil, rec)
				wantOutcome(t, err, e2ee.ReplayedCounter, "REC-3")
			},
			"reflect": func(t *rapid.T) {
				k := rapid.IntRange(0, 1).Draw(t, "side")
				all := append(slices.Clone(queue[k]), delivered[k]...)
				if len(all) == 0 {
					t.Skip("nothing sent")
				}
				rec := rapid.SampledFrom(all).Draw(t, "rec")
				_, err := ends[k].Open(nil, rec)
				if int64(rec.N) <= highest[k] {
					wantOutcome(t, err, e2ee.ReplayedCounter, "REC-3")
				} else {
					wantOutcome(t, err, e2ee.ReflectedRecord, "REC-4")
				}
			},
			"": func(t *rapid.T) {
				if si.State() != StateOpen || sr.State() != StateOpen {
					t.Fatal("an attack changed a session's state")
				}
			},
		})
	})
}
