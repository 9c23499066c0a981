package suite

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/internal/wycheproof"
)

// TestMain fails a CI run of the whole package in which the Wycheproof test did not run.
func TestMain(m *testing.M) { os.Exit(wycheproof.Main(m, "x25519_test.json", "aes_gcm_test.json")) }

// TestWycheproofX25519 runs x25519_test.json through the handshake's X25519
// step: the private value enters through NewEphemeral (as an injected
// ephemeral does) and the public value through X25519 with its all-zero
// check. spec §8 [VEC-2]: valid and acceptable cases are accepted, except the
// ones whose shared secret is all zero, which give low_order_point.
func TestWycheproofX25519(t *testing.T) {
	var f wycheproof.XDHFile
	wycheproof.Load(t, "x25519_test.json", &f)
	var accepted, zero, notApplicable int
	for _, g := range f.TestGroups {
		if g.Curve != "curve25519" {
			notApplicable += len(g.Tests)
			continue
		}
		for _, tc := range g.Tests {
			priv, _, err := NewEphemeral(bytes.NewReader(tc.Private))
			if err != nil {
				t.Fatalf("tc %d: %v", tc.TcID, err)
			}
			shared, err := X25519(priv, tc.Public)
			allZero := bytes.Equal(tc.Shared, make([]byte, 32))
			switch {
			case tc.Result == wycheproof.Invalid:
				if err == nil {
					t.Errorf("tc %d (%s): invalid case accepted", tc.TcID, tc.Comment)
				}
			case allZero:
				if !errors.Is(err, e2ee.LowOrderPoint) {
					t.Errorf("tc %d (%s): all-zero output gave %v, want low_order_point", tc.TcID, tc.Comment, err)
				}
				zero++
			default:
				if err != nil || !bytes.Equal(shared, tc.Shared) {
					t.Errorf("tc %d (%s): got %x, %v; want %x", tc.TcID, tc.Comment, shared, err, tc.Shared)
				}
				accepted++
			}
		}
	}
	t.Logf("x25519: %d accepted, %d all-zero outputs rejected as low_order_point, %d not applicable", accepted, zero, notApplicable)
	if accepted == 0 || zero == 0 {
		t.Fatal("the file had no usable cases")
	}
}

// TestWycheproofAESGCM runs aes_gcm_test.json through the record AEAD: the key
// through NewAEAD, the IV as the record IV with counter 0 (so the nonce is the
// IV itself), and the aad as the associated data. spec §8 [VEC-4]: only
// 256-bit keys with 96-bit nonces and 128-bit tags apply; the others are
// counted, and keys of other sizes must be refused by NewAEAD.
func TestWycheproofAESGCM(t *testing.T) {
	var f wycheproof.AEADFile
	wycheproof.Load(t, "aes_gcm_test.json", &f)
	var ran, rejected, otherKey, otherNonceOrTag int
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			switch {
			case g.KeySize != 256:
				if _, err := NewAEAD(tc.Key); err == nil {
					t.Errorf("tc %d: %d-bit key accepted by NewAEAD", tc.TcID, g.KeySize)
				}
				otherKey++
				continue
			case g.IVSize != 96 || g.TagSize != 128 || len(tc.IV) != NonceSize:
				otherNonceOrTag++
				continue
			}
			ran++
			if !runAEADCase(t, tc.TcID, tc.Result, tc.Key, tc.IV, tc.AAD, tc.Msg, append(tc.CT, tc.Tag...)) {
				rejected++
			}
		}
	}
	t.Logf("aes-gcm: %d cases run (%d rejected as invalid); not applicable: %d with a 128/192-bit key (refused by NewAEAD), %d with another nonce or tag size", ran, rejected, otherKey, otherNonceOrTag)
	if ran == 0 {
		t.Fatal("no applicable case")
	}
}

// runAEADCase reports whether the case opened.
func runAEADCase(t *testing.T, id int, result wycheproof.Result, key, ivBytes, aad, msg, sealed []byte) bool {
	t.Helper()
	aead, err := NewAEAD(key)
	if err != nil {
		t.Fatalf("tc %d: %v", id, err)
	}
	var iv, nonce [NonceSize]byte
	copy(iv[:], ivBytes)
	Nonce(&nonce, &iv, 0)
	pt, err := aead.Open(nil, nonce[:], sealed, aad)
	if result == wycheproof.Invalid {
		if err == nil {
			t.Errorf("tc %d: invalid case opened", id)
		}
		return false
	}
	if err != nil || !bytes.Equal(pt, msg) {
		t.Errorf("tc %d: open: %x, %v", id, pt, err)
	}
	if ct := aead.Seal(nil, nonce[:], msg, aad); !bytes.Equal(ct, sealed) {
		t.Errorf("tc %d: seal: %x, want %x", id, ct, sealed)
	}
	return true
}
