package harness

import "testing"

// TestTail checks that a Tail keeps only the last bytes written, and that Last makes them
// printable.
func TestTail(t *testing.T) {
	tl := NewTail(8)
	for _, w := range []string{"0123", "45678", "9a\x01"} {
		if n, err := tl.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	if got, want := tl.String(), "456789a\x01"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := tl.Last(3), `9a\x01`; got != want {
		t.Errorf("Last(3) = %q, want %q", got, want)
	}
}
