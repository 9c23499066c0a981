// Package wycheproof loads the Project Wycheproof test files that the e2ee
// tests run through the protocol's own code paths (spec §8, VEC-1 to VEC-4).
//
// The four files the tests use are copied into testdata/ (Apache-2.0; the
// license and where they come from are in testdata/README.md) and embedded in
// this package, so a test binary that links it always has them. Main fails a
// package run under CI when one of its Wycheproof tests did not run.
package wycheproof

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
)

//go:embed testdata/*.json
var files embed.FS

var (
	ranMu sync.Mutex
	ran   = map[string]bool{} // files whose test finished without skipping
)

// Load decodes the Wycheproof file name (such as "x25519_test.json") into v.
// The file counts as run for Main once t finishes without skipping.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	data, err := files.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("wycheproof: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("wycheproof: %s: %v", name, err)
	}
	t.Cleanup(func() {
		if !t.Skipped() {
			ranMu.Lock()
			defer ranMu.Unlock()
			ran[name] = true
		}
	})
}

// Main runs the tests of a package whose tests load the Wycheproof files
// names, for its TestMain. When the environment variable CI is set and the
// whole package ran (no -run, -skip or -list), a file whose test did not run
// or skipped fails the run: CI must not lose the vector coverage silently.
func Main(m *testing.M, names ...string) int {
	code := m.Run()
	if code != 0 || os.Getenv("CI") == "" || filtered() {
		return code
	}
	if missing := notRun(names); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: wycheproof: CI is set and no test ran the vectors of %v\n", missing)
		return 1
	}
	return code
}

// filtered reports whether the go test flags chose a subset of the tests.
func filtered() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}

// notRun returns the names of the files whose test did not run to the end.
func notRun(names []string) []string {
	ranMu.Lock()
	defer ranMu.Unlock()
	var out []string
	for _, n := range names {
		if !ran[n] {
			out = append(out, n)
		}
	}
	return out
}

// Hex is a hex-encoded byte string in a Wycheproof file.
type Hex []byte

// UnmarshalJSON decodes a JSON string of hex digits.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	out, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = out
	return nil
}

// Result is a test case's verdict: "valid", "invalid" or "acceptable".
type Result string

// The Wycheproof verdicts.
const (
	Valid      Result = "valid"
	Invalid    Result = "invalid"
	Acceptable Result = "acceptable"
)

// Case holds the fields common to every Wycheproof test case.
type Case struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Result  Result   `json:"result"`
}

// HasFlag reports whether the case carries flag.
func (c Case) HasFlag(flag string) bool {
	for _, f := range c.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// XDHFile is x25519_test.json.
type XDHFile struct {
	TestGroups []struct {
		Curve string `json:"curve"`
		Tests []struct {
			Case
			Public  Hex `json:"public"`
			Private Hex `json:"private"`
			Shared  Hex `json:"shared"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// EdDSAFile is ed25519_test.json.
type EdDSAFile struct {
	TestGroups []struct {
		PublicKey struct {
			PK Hex `json:"pk"`
		} `json:"publicKey"`
		Tests []struct {
			Case
			Msg Hex `json:"msg"`
			Sig Hex `json:"sig"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// AEADFile is aes_gcm_test.json.
type AEADFile struct {
	TestGroups []struct {
		KeySize int `json:"keySize"`
		IVSize  int `json:"ivSize"`
		TagSize int `json:"tagSize"`
		Tests   []struct {
			Case
			Key Hex `json:"key"`
			IV  Hex `json:"iv"`
			AAD Hex `json:"aad"`
			Msg Hex `json:"msg"`
			CT  Hex `json:"ct"`
			Tag Hex `json:"tag"`
		} `json:"tests"`
	} `json:"testGroups"`
}

// HKDFFile is hkdf_sha256_test.json.
type HKDFFile struct {
	TestGroups []struct {
		Tests []struct {
			Case
			IKM  Hex `json:"ikm"`
			Salt Hex `json:"salt"`
			Info Hex `json:"info"`
			Size int `json:"size"`
			OKM  Hex `json:"okm"`
		} `json:"tests"`
	} `json:"testGroups"`
}
