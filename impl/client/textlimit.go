package client

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxText is the longest message text in characters (Unicode code points,
// schemas/e2e/content.json); a longer text is refused before it is sent (spec §9 [CLI-23]).
const MaxText = maxText

// TextTooLongError refuses a message text over MaxText characters. Nothing was sent and the
// text was not truncated; SplitText cuts it into messages that fit, when the user asks for it.
type TextTooLongError struct {
	Chars int // the text's length in characters
}

func (e *TextTooLongError) Error() string {
	return fmt.Sprintf("client: the message is %d characters, more than the %d a message can hold; nothing was sent (split it into several messages)",
		e.Chars, MaxText)
}

// Is makes a TextTooLongError match ErrBadArgument.
func (e *TextTooLongError) Is(target error) bool { return target == ErrBadArgument }

// splitWindow is how far back from the limit SplitText looks for a space or line break to cut
// at, so that words stay whole.
const splitWindow = 200

// SplitText cuts text into pieces of at most MaxText characters each, in order, whose
// concatenation is text: nothing is dropped (spec §9 [CLI-23]). It cuts after a line break or a
// space near the limit when there is one, and never inside a UTF-8 sequence; a combining mark
// stays with the character before it.
func SplitText(text string) []string {
	var out []string
	for utf8.RuneCountInString(text) > MaxText {
		cut := byteIndexOfRune(text, MaxText)
		if c := backOffMarks(text, cut); c > 0 { // a text of marks alone is cut anyway
			cut = c
		}
		if i := strings.LastIndexAny(text[:cut], "\n "); i >= 0 && utf8.RuneCountInString(text[i+1:cut]) < splitWindow {
			cut = i + 1
		}
		out = append(out, text[:cut])
		text = text[cut:]
	}
	if text != "" || len(out) == 0 {
		out = append(out, text)
	}
	return out
}

// byteIndexOfRune returns the byte offset of the n-th rune of s.
func byteIndexOfRune(s string, n int) int {
	i := 0
	for off := range s {
		if i == n {
			return off
		}
		i++
	}
	return len(s)
}

// backOffMarks moves cut back over combining marks, so that a mark is not split from its base.
func backOffMarks(s string, cut int) int {
	for cut > 0 {
		r, _ := utf8.DecodeRuneInString(s[cut:])
		if !unicode.Is(unicode.Mn, r) && !unicode.Is(unicode.Me, r) && r != '\u200d' {
			return cut
		}
		_, prev := utf8.DecodeLastRuneInString(s[:cut])
		cut -= prev
	}
	return cut
}
