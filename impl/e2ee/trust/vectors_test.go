package trust

import (
	"bytes"
	"testing"

	"github.com/blindpost/blindpost/vectors"
)

// TestVectors runs vectors/safety_numbers.json through this package (spec
// §8, VEC-1): each party's digits through NumericFingerprint, each pair
// through SafetyNumber in both orders and FormatSafetyNumber (TRUST-4,
// TRUST-5), and libsignal's published case through NumericFingerprint and
// CombineFingerprints with libsignal's own inputs.
func TestVectors(t *testing.T) {
	var v vectors.SafetyNumbers
	if err := vectors.Load("safety_numbers", &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Pairs {
		t.Run(c.ID, func(t *testing.T) {
			for _, p := range []vectors.SafetyParty{c.A, c.B} {
				in := append(append([]byte{0, 0}, p.IdentityKey...), p.User...)
				if !bytes.Equal(in, p.HashInput) {
					t.Errorf("TRUST-5: hash input of %s differs", p.User)
				}
				if got := NumericFingerprint(p.IdentityKey, []byte(p.User), Iterations); got != p.Digits {
					t.Errorf("TRUST-5: digits of %s are %s, want %s", p.User, got, p.Digits)
				}
			}
			if got := CombineFingerprints(c.A.Digits, c.B.Digits); got != c.Digits {
				t.Errorf("TRUST-5: combined %s, want %s", got, c.Digits)
			}
			for _, order := range [][2]vectors.SafetyParty{{c.A, c.B}, {c.B, c.A}} {
				got, err := SafetyNumber(order[0].User, order[0].IdentityKey, order[1].User, order[1].IdentityKey)
				if err != nil || got != c.Digits {
					t.Errorf("TRUST-5: SafetyNumber(%s, %s) = %s, %v; want %s", order[0].User, order[1].User, got, err, c.Digits)
				}
			}
			if got := FormatSafetyNumber(c.Digits); got != c.Display {
				t.Errorf("TRUST-4: shown as %q, want %q", got, c.Display)
			}
		})
	}
	t.Run("libsignal", func(t *testing.T) {
		l := v.Libsignal
		a := NumericFingerprint(l.A.Key, []byte(l.A.StableID), l.Iterations)
		b := NumericFingerprint(l.B.Key, []byte(l.B.StableID), l.Iterations)
		if a != l.A.Digits || b != l.B.Digits {
			t.Errorf("TRUST-5: halves %s %s, want %s %s", a, b, l.A.Digits, l.B.Digits)
		}
		if got := CombineFingerprints(a, b); got != l.Digits {
			t.Errorf("TRUST-5: libsignal's fingerprint is %s, got %s", l.Digits, got)
		}
		if l.Digits != libsignalDisplay {
			t.Error("the vector's libsignal fingerprint differs from the one TestLibsignalNumericFingerprint quotes")
		}
	})
}
