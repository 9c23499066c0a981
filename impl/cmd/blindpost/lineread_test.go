package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestReadLine: the raw-mode prompt returns the typed line, edits it as a terminal would, and
// Ctrl-C or Ctrl-D abort it: a passphrase or trust prompt can always be left.
func TestReadLine(t *testing.T) {
	tests := []struct {
		name, in string
		echo     bool
		want     string
		echoed   string
		err      error
	}{
		{name: "enter", in: "secret\r", want: "secret"},
		{name: "line feed", in: "yes\n", echo: true, want: "yes", echoed: "yes"},
		{name: "stops at enter", in: "a\rb\r", want: "a"},
		{name: "backspace", in: "ab\x7fc\r", echo: true, want: "ac", echoed: "ab\b \bc"},
		{name: "backspace a rune", in: "pé\x7fe\r", want: "pe"},
		{name: "ctrl-u", in: "wrong\x15right\r", want: "right"},
		{name: "arrow keys skipped", in: "a\x1b[Db\x1bOAc\r", want: "abc"},
		{name: "utf-8 echoed as typed", in: "né\r", echo: true, want: "né", echoed: "né"},
		{name: "no echo", in: "hunter2\r", want: "hunter2"},
		{name: "ctrl-c", in: "half\x03typed\r", err: errAborted},
		{name: "ctrl-d", in: "\x04", err: errAborted},
		{name: "ctrl-d after text", in: "abc\x04", err: errAborted},
		{name: "end of input", in: "abc", err: errAborted},
		{name: "escape at the end", in: "a\x1b", err: errAborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := readLine(strings.NewReader(tt.in), &out, tt.echo)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("readLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
			}
			if out.String() != tt.echoed {
				t.Errorf("echoed %q, want %q", out.String(), tt.echoed)
			}
		})
	}
}
