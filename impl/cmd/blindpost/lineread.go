package main

import (
	"errors"
	"io"
	"unicode/utf8"
)

// errAborted is a prompt the user left with Ctrl-C or Ctrl-D: the command stops and changes
// nothing.
var errAborted = errors.New("aborted at the prompt (Ctrl-C or Ctrl-D); nothing was changed")

// Keys a prompt reads from a terminal in raw mode, where they arrive as bytes, not signals.
const (
	keyCtrlC     = 0x03
	keyCtrlD     = 0x04
	keyBackspace = 0x08
	keyCtrlU     = 0x15
	keyEscape    = 0x1b
	keyDelete    = 0x7f
)

// readLine reads one line typed on a terminal in raw mode, one byte at a time so that nothing
// after Enter is consumed. Ctrl-C and Ctrl-D abort with errAborted (in raw mode the terminal
// sends them as bytes: the process gets no SIGINT, which the commands' signal handler would
// otherwise swallow while the prompt waits). Backspace deletes a character, Ctrl-U the line,
// escape sequences (arrow keys) are skipped. With echo, what is typed is shown on w; without
// it (a passphrase) nothing is. The end of the input aborts too.
func readLine(r io.Reader, w io.Writer, echo bool) (string, error) {
	var line []byte
	b := make([]byte, 1)
	next := func() (byte, error) {
		if _, err := io.ReadFull(r, b); err != nil {
			return 0, err
		}
		return b[0], nil
	}
	show := func(s string) {
		if echo {
			io.WriteString(w, s)
		}
	}
	for {
		c, err := next()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return "", errAborted
		}
		if err != nil {
			return "", err
		}
		switch {
		case c == keyCtrlC, c == keyCtrlD:
			return "", errAborted
		case c == '\r', c == '\n':
			return string(line), nil
		case c == keyBackspace, c == keyDelete:
			if len(line) > 0 {
				_, size := utf8.DecodeLastRune(line)
				line = line[:len(line)-size]
				show("\b \b")
			}
		case c == keyCtrlU:
			for n := utf8.RuneCount(line); n > 0; n-- {
				show("\b \b")
			}
			line = line[:0]
		case c == keyEscape:
			if err := skipEscape(next); err != nil {
				return "", errAborted
			}
		case c < 0x20:
			// Other control keys mean nothing in a prompt.
		default:
			line = append(line, c)
			show(string([]byte{c}))
		}
	}
}

// skipEscape consumes the rest of an escape sequence: ESC [ or ESC O, parameters, and a final
// byte in 0x40–0x7E.
func skipEscape(next func() (byte, error)) error {
	c, err := next()
	if err != nil || (c != '[' && c != 'O') {
		return err
	}
	for {
		if c, err = next(); err != nil || (c >= 0x40 && c <= 0x7e) {
			return err
		}
	}
}
