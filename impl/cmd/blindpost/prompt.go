package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// terminalPrompts returns a secret reader and a yes/no question on the terminal when stdin is
// one, and nils otherwise (scripts must then pass the answers as flags).
func terminalPrompts(stdin io.Reader, stderr io.Writer) (func(string) (string, error), func(string) (bool, error)) {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, nil
	}
	fd := int(f.Fd())
	readSecret := func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read passphrase: %w", err)
		}
		return string(b), nil
	}
	reader := bufio.NewReader(f)
	confirm := func(question string) (bool, error) {
		fmt.Fprintf(stderr, "%s [yes/no]: ", question)
		line, err := reader.ReadString('\n')
		if err != nil && line == "" {
			return false, fmt.Errorf("read answer: %w", err)
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "yes" || answer == "y", nil
	}
	return readSecret, confirm
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
