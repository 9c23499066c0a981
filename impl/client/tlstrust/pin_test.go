package tlstrust

import (
	"strings"
	"testing"
)

func TestParsePin(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"sha256:" + hex, "sha256:" + hex, true},
		{"sha256:" + strings.ToUpper(hex), "sha256:" + hex, true},
		{"  sha256:" + hex + "\n", "sha256:" + hex, true},
		{hex, "", false},
		{"sha1:" + hex, "", false},
		{"sha256:" + hex[:62], "", false},
		{"sha256:" + hex + "00", "", false},
		{"sha256:" + strings.Repeat("zz", 32), "", false},
	}
	for _, tc := range tests {
		p, err := ParsePin(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParsePin(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && p.String() != tc.want {
			t.Errorf("ParsePin(%q) = %s, want %s", tc.in, p, tc.want)
		}
	}
}
