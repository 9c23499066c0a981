package identity

import (
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/internal/wycheproof"
)

// TestWycheproofEd25519 runs ed25519_test.json through Verify, the check every
// protocol signature goes through. spec §8 [VEC-3]: no invalid case may
// verify, and every valid one must.
func TestWycheproofEd25519(t *testing.T) {
	var f wycheproof.EdDSAFile
	wycheproof.Load(t, "ed25519_test.json", &f)
	var valid, invalid int
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			ok := Verify(g.PublicKey.PK, tc.Msg, tc.Sig)
			switch tc.Result {
			case wycheproof.Valid:
				if !ok {
					t.Errorf("tc %d (%s): valid signature rejected", tc.TcID, tc.Comment)
				}
				valid++
			default:
				if ok {
					t.Errorf("tc %d (%s): %s signature verified", tc.TcID, tc.Comment, tc.Result)
				}
				invalid++
			}
		}
	}
	t.Logf("ed25519: %d valid verified, %d invalid rejected, 0 not applicable", valid, invalid)
}
