package identity

import (
	"os"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/internal/wycheproof"
)

// TestMain fails a CI run of the whole package in which the Wycheproof test did not run.
func TestMain(m *testing.M) { os.Exit(wycheproof.Main(m, "ed25519_test.json")) }

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
	if valid == 0 || invalid == 0 {
		t.Fatal("the file had no usable cases")
	}
}
