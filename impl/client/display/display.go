// Package display makes text that a peer or the relay controls safe to show on a terminal
// (spec §9 [CLI-30]): usernames, messages, group names, reasons and error messages.
//
// A terminal obeys what it prints. Control characters move the cursor or clear the screen,
// bidirectional controls reorder the text around them ("evil\u202Etxt.exe" shows as
// "evilexe.txt"), zero-width and other invisible characters make two different names look
// alike, and a line break lets a peer start a line that looks like someone else's message.
// Clean replaces every such character with U+FFFD, so that the reader sees that something was
// there; Lines and Line keep the line breaks apart so that a front end can mark every line
// after the first as a continuation; Wrap breaks text at grapheme-cluster boundaries, so that
// joined emoji and combining accents are never split.
package display

import (
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
)

// Replacement stands for each character Clean removes: visible, so that nothing is hidden.
const Replacement = '\uFFFD'

// LineMark stands for a line break in text shown on one line (Line).
const LineMark = "⏎"

// Clean returns s with every character that could rewrite the screen, reorder the text or
// hide itself replaced by U+FFFD (spec §9 [CLI-30]):
//   - C0 and C1 controls (escape sequences among them) and DEL;
//   - format characters (Unicode category Cf): the bidirectional embeddings, overrides,
//     isolates and marks (U+202A–202E, U+2066–2069, U+200E, U+200F, U+061C), the zero-width
//     characters (U+200B–200D, U+2060, U+FEFF), the soft hyphen and the invisible operators;
//   - the other default-ignorable code points (Hangul fillers, U+034F, …).
//
// Tabs become a space. Line breaks (LF, CR LF, a lone CR, VT, FF, U+0085, and the line and
// paragraph separators U+2028 and U+2029) become "\n", for Lines to split at. Two format
// characters stay where they belong to an emoji: a zero-width joiner inside an emoji sequence
// (👩‍💻), and the tag characters of a subdivision flag (🏴 + tags).
func Clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	state := -1
	rest := s
	for len(rest) > 0 {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		cleanCluster(&b, cluster)
	}
	return b.String()
}

// cleanCluster writes one grapheme cluster, cleaned, to b.
func cleanCluster(b *strings.Builder, cluster string) {
	runes := []rune(cluster)
	for i, r := range runes {
		switch {
		case r == '\r' && i+1 < len(runes) && runes[i+1] == '\n':
			// CR LF is one line break: the LF writes it.
		case isLineBreak(r):
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), hidden(r) && !emojiPart(runes, i):
			b.WriteRune(Replacement)
		default:
			b.WriteRune(r)
		}
	}
}

// isLineBreak reports the characters that end a line (Unicode's mandatory breaks).
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

// hidden reports format characters and the other default-ignorable code points: characters
// that render as nothing or change how their neighbours render. Variation selectors are
// default-ignorable too but only choose a glyph (text or emoji style), so they stay.
func hidden(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// emojiPart reports whether the format character runes[i] is part of an emoji: a zero-width
// joiner between two characters of an emoji ZWJ sequence, or a tag character of a flag such
// as 🏴 + tags (the cluster starts with U+1F3F4).
func emojiPart(runes []rune, i int) bool {
	r := runes[i]
	switch {
	case r == '\u200D':
		// Inside one cluster, a joiner followed by something other than a mark joins two
		// pictographs (UAX #29 rule GB11).
		return i > 0 && i+1 < len(runes) && !hidden(runes[i+1]) && !unicode.In(runes[i+1], unicode.M)
	case r >= 0xE0020 && r <= 0xE007F:
		return runes[0] == 0x1F3F4
	}
	return false
}

// Lines returns Clean(s) split at its line breaks: one element per line of the original text.
// A front end shows every element after the first as a marked continuation of the first, so
// that a peer cannot start a line of its own.
func Lines(s string) []string {
	return strings.Split(Clean(s), "\n")
}

// Line returns Clean(s) on one line, each line break shown as LineMark: for names, reasons
// and errors printed where a line of their own would pass for the program's.
func Line(s string) string {
	return strings.ReplaceAll(Clean(s), "\n", LineMark)
}
