package client_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/blindpost/blindpost/impl/client"
	"pgregory.net/rapid"
)

// TestTextTooLong: a text over the limit is refused before anything is sent, with its count.
// Rule: CLI-23.
func TestTextTooLong(t *testing.T) {
	m := newMITM(t)
	sid, _ := m.secure()
	long := strings.Repeat("é", client.MaxText+1)
	_, err := m.alice.c.Send(ctx(t), sid, long)
	var tl *client.TextTooLongError
	if !errors.As(err, &tl) || tl.Chars != client.MaxText+1 || !errors.Is(err, client.ErrBadArgument) {
		t.Fatalf("Send of %d characters: %v", client.MaxText+1, err)
	}
	if !strings.Contains(err.Error(), "4097") {
		t.Fatalf("the error does not give the count: %v", err)
	}
	n, err := m.alice.c.Send(ctx(t), sid, strings.Repeat("é", client.MaxText))
	if err != nil {
		t.Fatalf("a text of exactly %d characters: %v", client.MaxText, err)
	}
	if n != 0 { // the refused text took no counter: nothing of it was sent
		t.Fatalf("the first record sent is %d, want 0", n)
	}
}

// TestSplitText: the pieces fit, keep every character in order, and cut at a space near the
// limit when there is one. Rule: CLI-23.
func TestSplitText(t *testing.T) {
	words := strings.Repeat("word ", 2000) // 10000 characters
	parts := client.SplitText(words)
	if len(parts) != 3 || strings.Join(parts, "") != words || !strings.HasSuffix(parts[0], " ") {
		t.Fatalf("split into %d parts", len(parts))
	}
	marks := "a" + strings.Repeat("\u0301", 2*client.MaxText)
	if parts := client.SplitText(marks); strings.Join(parts, "") != marks || len(parts) != 3 {
		t.Fatalf("a text of combining marks split into %d parts", len(parts))
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.RuneFrom([]rune{'a', ' ', '\n', 'é', '\u0301', '👋', '\u200d'}), 0, 3*client.MaxText, -1).Draw(t, "text")
		parts := client.SplitText(s)
		if strings.Join(parts, "") != s {
			t.Fatal("the pieces do not add up to the text")
		}
		for _, p := range parts {
			if n := utf8.RuneCountInString(p); n > client.MaxText || (n == 0 && s != "") {
				t.Fatalf("a piece of %d characters", n)
			}
		}
	})
}
