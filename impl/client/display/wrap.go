package display

import (
	"strings"

	"github.com/rivo/uniseg"
)

// Width returns the number of terminal cells plain text takes, counted per grapheme cluster.
func Width(s string) int { return uniseg.StringWidth(s) }

// Wrap breaks one line of plain text (no line breaks, no escape sequences: Clean's output
// split by Lines) into lines of at most width cells: at spaces when it can, inside a word when
// the word is longer than a line, and always between grapheme clusters, so that a joined emoji
// (👨‍👩‍👧) or a letter and its combining accents (é as e + U+0301) stay whole. A word longer than
// a line starts on a line of its own. A cluster wider than
// width gets a line of its own. Trailing spaces are dropped; the result has at least one line.
func Wrap(text string, width int) []string {
	width = max(width, 1)
	var out []string
	var cur strings.Builder
	curWidth := 0
	flush := func() {
		out = append(out, strings.TrimRight(cur.String(), " "))
		cur.Reset()
		curWidth = 0
	}
	for i, word := range words(text) {
		w := Width(word)
		sep := 1
		if i == 0 || (curWidth == 0 && len(out) > 0) {
			sep = 0 // no space at the start of the text's first line or at a wrap point
		}
		switch {
		case curWidth+sep+w <= width:
			cur.WriteString(strings.Repeat(" ", sep) + word)
			curWidth += sep + w
		case w <= width:
			flush()
			cur.WriteString(word)
			curWidth = w
		default:
			// Longer than a line: on lines of its own, cut between clusters.
			if curWidth > 0 {
				flush()
			}
			curWidth = splitWord(word, width, &cur, 0, flush)
		}
	}
	flush()
	return out
}

// splitWord writes word into cur cluster by cluster, flushing whenever the next cluster would
// overflow width, and returns the width of the line it leaves open.
func splitWord(word string, width int, cur *strings.Builder, curWidth int, flush func()) int {
	state := -1
	for len(word) > 0 {
		var cluster string
		var w int
		cluster, word, w, state = uniseg.FirstGraphemeClusterInString(word, state)
		if curWidth > 0 && curWidth+w > width {
			flush()
			curWidth = 0
		}
		cur.WriteString(cluster)
		curWidth += w
	}
	return curWidth
}

// words splits text at its spaces, where a space is a cluster of its own: a space that carries
// a combining mark is a character of the word it is in, not a place to break.
func words(text string) []string {
	var out []string
	start, pos, state := 0, 0, -1
	for rest := text; len(rest) > 0; {
		var cluster string
		cluster, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		if cluster == " " {
			out = append(out, text[start:pos])
			start = pos + 1
		}
		pos += len(cluster)
	}
	return append(out, text[start:])
}
