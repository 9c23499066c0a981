package tui

import "testing"

// TestSanitize: text from the network in a notice cannot move the cursor, clear the screen,
// reverse the text around it or start a line (spec §9 [CLI-30]; the full table of hostile
// strings is in impl/client/display).
func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "hello"},
		{"two\nlines", "two⏎lines"},
		{"fake\u2028line", "fake⏎line"},
		{"zero\u200Bwidth", "zero\uFFFDwidth"},
		{"tab\there", "tab here"},
		{"\x1b[2Jclear", "\uFFFD[2Jclear"},
		{"bell\a", "bell\uFFFD"},
		{"c1\u009b31m", "c1\uFFFD31m"},
		{"evil\u202etxt.exe", "evil\uFFFDtxt.exe"},
		{"isolate\u2066x\u2069", "isolate\uFFFDx\uFFFD"},
		{"emoji 👩‍💻", "emoji 👩‍💻"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestGroupFP: fingerprints are shown in groups of 8 hex digits.
func TestGroupFP(t *testing.T) {
	want := "    sha256:01234567 89abcdef 01234567 89abcdef\n" +
		"           01234567 89abcdef 01234567 89abcdef"
	hex := "0123456789abcdef"
	if got := groupFP("sha256:" + hex + hex + hex + hex); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
