// Package wycheproof loads the Project Wycheproof test files that the e2ee
// tests run through the protocol's own code paths (spec §8, VEC-2 to VEC-4).
//
// The files live in the folder shared/testdata/wycheproof beside the
// repository and are never copied into it. When the folder is absent the
// tests skip with a message naming the path.
package wycheproof

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the Wycheproof folder: ../shared/testdata/wycheproof relative to
// the module root, which is found by walking up from the working directory
// to the directory holding go.mod.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "testdata", "wycheproof"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("wycheproof: no go.mod above " + wd)
		}
	}
}

// Load decodes the Wycheproof file name (such as "x25519_test.json") into v,
// or skips t loudly when the Wycheproof folder is absent.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("WYCHEPROOF TESTS SKIPPED: %s is missing; put the Wycheproof files in %s (the folder shared/ beside the repository) to run them", path, dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("wycheproof: %s: %v", path, err)
	}
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
