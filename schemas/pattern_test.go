package schemas

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestBase64Pattern: canonicalBase64 answers exactly as RE2 does for base64Pattern, on the
// encodings of random bytes (some with one character changed) and on short strings of base64
// characters, padding and others; and defs.json's ciphertext has that pattern, so that the
// validator takes the one-pass matcher for it.
func TestBase64Pattern(t *testing.T) {
	re := regexp.MustCompile(base64Pattern)
	near := []rune("AQgwBEIzb09+/=-_\n é")
	rapid.Check(t, func(t *rapid.T) {
		var s string
		if rapid.Bool().Draw(t, "an encoding") {
			s = base64.StdEncoding.EncodeToString(rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "bytes"))
			if s != "" && rapid.Bool().Draw(t, "changed") {
				i := rapid.IntRange(0, len(s)-1).Draw(t, "at")
				s = s[:i] + string(rapid.SampledFrom(near).Draw(t, "to")) + s[i+1:]
			}
		} else {
			s = rapid.StringOfN(rapid.SampledFrom(near), 0, 16, -1).Draw(t, "string")
		}
		if got, want := (canonicalBase64{}).MatchString(s), re.MatchString(s); got != want {
			t.Fatalf("%q: canonicalBase64 says %v, RE2 %v", s, got, want)
		}
	})
	raw, err := FS.ReadFile("defs.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"pattern": "`+base64Pattern+`"`) {
		t.Fatal("defs.json no longer has base64Pattern: the ciphertext would be matched by RE2's NFA again")
	}
}

// BenchmarkCheckRelay32K: a relay carrying 32,766 bytes of ciphertext, checked against the
// server message schema.
func BenchmarkCheckRelay32K(b *testing.B) {
	data := []byte(`{"type":"relay","from":"alice","session":"Klqh97vrKQjVeTS9wlsGVA==","payload":{"kind":"msg","n":12,"ct":"` +
		base64.StdEncoding.EncodeToString(make([]byte, 32766)) + `"}}`)
	for b.Loop() {
		if vs, err := Check(ServerMessage, data); err != nil || len(vs) > 0 {
			b.Fatal(vs, err)
		}
	}
}
