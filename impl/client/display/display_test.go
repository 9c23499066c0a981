package display

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// hostile is the table of text a peer or a relay could send to rewrite a terminal, reorder
// what it shows or pass one name off as another (spec §9 [CLI-30]), with what Clean shows.
var hostile = []struct {
	name, in, want string
}{
	{"plain", "hello", "hello"},
	{"accents and CJK", "café 日本語", "café 日本語"},
	{"tab", "tab\there", "tab here"},
	{"clear screen", "\x1b[2Jclear", "\uFFFD[2Jclear"},
	{"cursor home and overwrite", "\x1b[Hroot: ok", "\uFFFD[Hroot: ok"},
	{"OSC title", "\x1b]0;pwned\x07", "\uFFFD]0;pwned\uFFFD"},
	{"bell", "bell\a", "bell\uFFFD"},
	{"backspace over text", "yes\b\b\bno ", "yes\uFFFD\uFFFD\uFFFDno "},
	{"DEL", "a\x7fb", "a\uFFFDb"},
	{"NUL", "a\x00b", "a\uFFFDb"},
	{"C1 CSI", "c1\u009b31m", "c1\uFFFD31m"},
	{"C1 OSC", "\u009d0;x\u009c", "\uFFFD0;x\uFFFD"},
	{"LRE", "a\u202Ab", "a\uFFFDb"},
	{"RLE", "a\u202Bb", "a\uFFFDb"},
	{"PDF", "a\u202Cb", "a\uFFFDb"},
	{"LRO", "a\u202Db", "a\uFFFDb"},
	{"RLO filename", "evil\u202Etxt.exe", "evil\uFFFDtxt.exe"},
	{"LRI", "a\u2066b", "a\uFFFDb"},
	{"RLI", "a\u2067b", "a\uFFFDb"},
	{"FSI", "a\u2068b", "a\uFFFDb"},
	{"PDI", "a\u2069b", "a\uFFFDb"},
	{"LRM", "a\u200Eb", "a\uFFFDb"},
	{"RLM", "a\u200Fb", "a\uFFFDb"},
	{"ALM", "a\u061Cb", "a\uFFFDb"},
	{"ZWSP in a name", "bo\u200Bb", "bo\uFFFDb"},
	{"ZWNJ", "a\u200Cb", "a\uFFFDb"},
	{"lone ZWJ", "a\u200Db", "a\uFFFDb"},
	{"ZWJ at the end", "ok\u200D", "ok\uFFFD"},
	{"ZWJ after an emoji, before a letter", "👍\u200Dx", "👍\uFFFDx"},
	{"word joiner", "a\u2060b", "a\uFFFDb"},
	{"BOM", "\uFEFFhello", "\uFFFDhello"},
	{"soft hyphen", "pay\u00ADpal", "pay\uFFFDpal"},
	{"invisible times", "a\u2062b", "a\uFFFDb"},
	{"Hangul filler name", "\u3164", "\uFFFD"},
	{"combining grapheme joiner", "a\u034Fb", "a\uFFFDb"},
	{"interlinear annotation", "a\uFFF9b\uFFFBc", "a\uFFFDb\uFFFDc"},
	{"LF", "two\nlines", "two\nlines"},
	{"CR LF", "two\r\nlines", "two\nlines"},
	{"lone CR overwrites the line", "innocent\rbob: fake", "innocent\nbob: fake"},
	{"VT and FF", "a\vb\fc", "a\nb\nc"},
	{"NEL", "a\u0085b", "a\nb"},
	{"line separator", "a\u2028carol: fake", "a\ncarol: fake"},
	{"paragraph separator", "a\u2029b", "a\nb"},
	{"emoji ZWJ sequence", "emoji 👩‍💻", "emoji 👩‍💻"},
	{"family", "👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦"},
	{"skin tone", "👍🏽", "👍🏽"},
	{"flag", "🇫🇷", "🇫🇷"},
	{"subdivision flag tags", "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"},
	{"tags hiding text", "hi\U000E0069\U000E0067\U000E006E", "hi\uFFFD\uFFFD\uFFFD"},
	{"emoji variation selector", "❤\uFE0F", "❤\uFE0F"},
	{"combining accents", "e\u0301\u0302", "e\u0301\u0302"},
	{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
}

// TestCleanHostile: no character of the table reaches the terminal as it was sent; every
// replaced one is visible as U+FFFD, and every line break stays a line break (spec §9 [CLI-30]).
func TestCleanHostile(t *testing.T) {
	for _, tt := range hostile {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%+q) = %+q, want %+q", tt.in, got, tt.want)
			}
		})
	}
}

// TestLinesMarkContinuations: a line break is the only way to start a line, and Lines hands
// every line after the first to the front end apart, to be shown as a continuation [CLI-30].
func TestLinesMarkContinuations(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"one", []string{"one"}},
		{"hi\nalice: send me the code", []string{"hi", "alice: send me the code"}},
		{"hi\u2028alice: x\r\ny", []string{"hi", "alice: x", "y"}},
		{"end\n", []string{"end", ""}},
	}
	for _, tt := range tests {
		if got := Lines(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Lines(%+q) = %+q, want %+q", tt.in, got, tt.want)
		}
	}
	if got, want := Line("bad\nname\u202E"), "bad"+LineMark+"name\uFFFD"; got != want {
		t.Errorf("Line = %+q, want %+q", got, want)
	}
}

// TestWrapGraphemes: wrapping never splits a grapheme cluster, and no line is wider than the
// width unless one cluster alone is.
func TestWrapGraphemes(t *testing.T) {
	tests := []struct {
		in    string
		width int
		want  []string
	}{
		{"hello world", 5, []string{"hello", "world"}},
		{"hello world", 20, []string{"hello world"}},
		{"abcdefgh", 3, []string{"abc", "def", "gh"}},
		{"e\u0301e\u0301e\u0301e\u0301", 3, []string{"e\u0301e\u0301e\u0301", "e\u0301"}},
		{"👨‍👩‍👧‍👦👨‍👩‍👧‍👦👨‍👩‍👧‍👦", 5, []string{"👨‍👩‍👧‍👦👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦"}},
		{"🇫🇷🇩🇪", 3, []string{"🇫🇷", "🇩🇪"}},
		{"👍🏽", 1, []string{"👍🏽"}},
		{"ab 👍🏽👍🏽👍🏽", 5, []string{"ab", "👍🏽👍🏽", "👍🏽"}},
		{"a \u0301b c", 2, []string{"a \u0301", "b", "c"}},
		{"", 4, []string{""}},
	}
	for _, tt := range tests {
		got := Wrap(tt.in, tt.width)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Wrap(%+q, %d) = %+q, want %+q", tt.in, tt.width, got, tt.want)
		}
	}
}

// FuzzClean checks, on any input, what Clean promises [CLI-30]: valid UTF-8, no control
// character but the line feed, no hidden character outside an emoji, the same result when
// cleaned again; and that Wrap keeps every cluster whole and within the width.
func FuzzClean(f *testing.F) {
	for _, tt := range hostile {
		f.Add(tt.in, 7)
	}
	if len(hostile) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, in string, width int) {
		out := Clean(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Clean(%+q) = %+q: not UTF-8", in, out)
		}
		if again := Clean(out); again != out {
			t.Fatalf("Clean is not idempotent on %+q: %+q then %+q", in, out, again)
		}
		for _, line := range Lines(in) {
			checkLine(t, in, line)
			checkWrap(t, line, width%40)
		}
		if strings.Contains(Line(in), "\n") {
			t.Fatalf("Line(%+q) holds a line break", in)
		}
	})
}

// checkLine fails when a cleaned line holds a control or a hidden character that is not part
// of an emoji.
func checkLine(t *testing.T, in, line string) {
	t.Helper()
	state := -1
	for rest := line; len(rest) > 0; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		runes := []rune(cluster)
		for i, r := range runes {
			if unicode.IsControl(r) || (hidden(r) && !emojiPart(runes, i)) {
				t.Fatalf("Clean(%+q) left %U in %+q", in, r, line)
			}
		}
	}
}

// checkWrap fails when Wrap splits a cluster, loses one, or overflows the width.
func checkWrap(t *testing.T, line string, width int) {
	t.Helper()
	lines := Wrap(line, width)
	var got []string
	for _, l := range lines {
		got = append(got, clusters(l)...)
		if Width(l) > max(width, 1) && uniseg.GraphemeClusterCount(l) > 1 {
			t.Fatalf("Wrap(%+q, %d): %+q is %d cells wide", line, width, l, Width(l))
		}
	}
	if want := clusters(line); !slices.Equal(got, want) {
		t.Fatalf("Wrap(%+q, %d) = %+q: clusters %+q, want %+q", line, width, lines, got, want)
	}
}

// clusters returns the grapheme clusters of s but its plain spaces, where Wrap may break.
func clusters(s string) []string {
	var out []string
	state := -1
	for len(s) > 0 {
		var c string
		c, s, _, state = uniseg.FirstGraphemeClusterInString(s, state)
		if c != " " {
			out = append(out, c)
		}
	}
	return out
}
