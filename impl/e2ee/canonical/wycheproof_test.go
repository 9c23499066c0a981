package canonical

import (
	"bytes"
	"os"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/internal/wycheproof"
)

// TestMain fails a CI run of the whole package in which the Wycheproof test did not run.
func TestMain(m *testing.M) { os.Exit(wycheproof.Main(m, "hkdf_sha256_test.json")) }

// TestWycheproofHKDF runs hkdf_sha256_test.json through the HKDF path that
// Expand and the handshake use: Extract then HKDFExpand. spec §8 [VEC-1]
// Every case applies: the cases whose size is too large must be refused.
func TestWycheproofHKDF(t *testing.T) {
	var f wycheproof.HKDFFile
	wycheproof.Load(t, "hkdf_sha256_test.json", &f)
	var ran, refused int
	for _, g := range f.TestGroups {
		for _, tc := range g.Tests {
			prk, err := Extract(tc.Salt, tc.IKM)
			if err != nil {
				t.Fatalf("tc %d: extract: %v", tc.TcID, err)
			}
			okm, err := HKDFExpand(prk, tc.Info, tc.Size)
			ran++
			switch tc.Result {
			case wycheproof.Valid, wycheproof.Acceptable:
				if err != nil || !bytes.Equal(okm, tc.OKM) {
					t.Errorf("tc %d (%s): got %x, %v", tc.TcID, tc.Comment, okm, err)
				}
			case wycheproof.Invalid:
				if err == nil {
					t.Errorf("tc %d (%s): invalid case accepted", tc.TcID, tc.Comment)
				}
				refused++
			}
		}
	}
	t.Logf("hkdf: %d cases run, %d invalid refused, 0 not applicable", ran, refused)
	if ran == refused || refused == 0 {
		t.Fatal("the file had no usable cases")
	}
}
