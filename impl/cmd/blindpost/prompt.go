package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// terminalPrompts returns a secret reader and a yes/no question on the terminal when stdin is
// one, and nils otherwise (scripts must then pass the answers as flags). Both read in raw mode
// so that Ctrl-C and Ctrl-D abort them with errAborted.
func terminalPrompts(stdin io.Reader, stderr io.Writer) (func(string) (string, error), func(string) (bool, error)) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	readSecret := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		line, err := readRaw(f, stderr, false)
		if err != nil {
			return "", fmt.Errorf("read passphrase: %w", err)
		}
		return line, nil
	}
	confirm := func(question string) (bool, error) {
		fmt.Fprintf(stderr, "%s [yes/no]: ", question)
		line, err := readRaw(f, stderr, true)
		if err != nil {
			return false, fmt.Errorf("read answer: %w", err)
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "yes" || answer == "y", nil
	}
	return readSecret, confirm
}

// readRaw reads a line from the terminal f in raw mode, restoring its mode afterwards, and ends
// the line on stderr (raw mode needs the carriage return).
func readRaw(f *os.File, stderr io.Writer, echo bool) (string, error) {
	fd := int(f.Fd())
	state, err := term.MakeRaw(fd)
	if err != nil {
		return "", err
	}
	line, err := readLine(f, stderr, echo)
	term.Restore(fd, state)
	fmt.Fprintln(stderr)
	return line, err
}

// readPassphraseFile returns the first line of path, without its line ending.
func readPassphraseFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("passphrase file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("passphrase file: the first line is empty")
	}
	return line, nil
}
