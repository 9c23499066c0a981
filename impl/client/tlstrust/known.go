package tlstrust

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// KnownServers is the known_servers file of spec Appendix C: one line per trusted server,
// "HOST:PORT sha256:PIN", as SSH's known_hosts. Blank lines and lines starting with '#' are
// ignored. A host has at most one pin: a different certificate is refused until the user removes
// the pin (TLS-4). The file is created with mode 0600. Methods are safe for concurrent use within
// one process.
type KnownServers struct {
	path string
	mu   sync.Mutex
}

// KnownServer is one line of a known_servers file.
type KnownServer struct {
	HostPort string // "host:port", host lowercased
	Pin      Pin
}

// OpenKnownServers returns the store kept in the file at path; the file need not exist yet.
func OpenKnownServers(path string) *KnownServers { return &KnownServers{path: path} }

// Path returns the file the store is kept in.
func (k *KnownServers) Path() string { return k.path }

// HostPort returns the known_servers key of a wss:// URL: the lowercase host and the port, 443
// when the URL names none.
func HostPort(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("tlstrust: server url: %w", err)
	}
	if u.Scheme != "wss" {
		return "", fmt.Errorf("tlstrust: server url %q: scheme must be wss", rawURL)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("tlstrust: server url %q has no host", rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

// List returns every entry, in file order.
func (k *KnownServers) List() ([]KnownServer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.read()
}

// Lookup returns the pin stored for hostport, if any.
func (k *KnownServers) Lookup(hostport string) (Pin, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	entries, err := k.read()
	if err != nil {
		return Pin{}, false, err
	}
	for _, e := range entries {
		if e.HostPort == hostport {
			return e.Pin, true, nil
		}
	}
	return Pin{}, false, nil
}

// Add stores pin for hostport. Adding the pin a host already has is a no-op; adding a different
// one is refused, because a changed certificate needs the old pin removed first (TLS-4).
func (k *KnownServers) Add(hostport string, pin Pin) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	entries, err := k.read()
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.HostPort == hostport {
			if e.Pin == pin {
				return nil
			}
			return fmt.Errorf("tlstrust: %s is already pinned to %s in %s; remove that line first", hostport, e.Pin, k.path)
		}
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return fmt.Errorf("tlstrust: %w", err)
	}
	f, err := os.OpenFile(k.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("tlstrust: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s %s\n", hostport, pin); err != nil {
		f.Close()
		return fmt.Errorf("tlstrust: write %s: %w", k.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlstrust: write %s: %w", k.path, err)
	}
	return nil
}

// Remove deletes the entry of hostport and reports whether there was one.
func (k *KnownServers) Remove(hostport string) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	entries, err := k.read()
	if err != nil {
		return false, err
	}
	kept := entries[:0]
	for _, e := range entries {
		if e.HostPort != hostport {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(entries) {
		return false, nil
	}
	return true, k.write(kept)
}

func (k *KnownServers) read() ([]KnownServer, error) {
	data, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tlstrust: %w", err)
	}
	var entries []KnownServer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		e, err := parseKnownServer(text)
		if err != nil {
			return nil, fmt.Errorf("tlstrust: %s:%d: %w", k.path, line, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func parseKnownServer(line string) (KnownServer, error) {
	fields := strings.Fields(line)
	if len(fields) != 2 {
		return KnownServer{}, fmt.Errorf("want \"HOST:PORT sha256:PIN\", got %d fields", len(fields))
	}
	host, port, err := net.SplitHostPort(fields[0])
	if err != nil || host == "" || port == "" {
		return KnownServer{}, fmt.Errorf("bad HOST:PORT %q", fields[0])
	}
	pin, err := ParsePin(fields[1])
	if err != nil {
		return KnownServer{}, err
	}
	return KnownServer{HostPort: net.JoinHostPort(strings.ToLower(host), port), Pin: pin}, nil
}

func (k *KnownServers) write(entries []KnownServer) error {
	var buf bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&buf, "%s %s\n", e.HostPort, e.Pin)
	}
	tmp, err := os.CreateTemp(filepath.Dir(k.path), ".known_servers-*")
	if err != nil {
		return fmt.Errorf("tlstrust: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("tlstrust: %w", err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("tlstrust: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tlstrust: %w", err)
	}
	if err := os.Rename(tmp.Name(), k.path); err != nil {
		return fmt.Errorf("tlstrust: %w", err)
	}
	return nil
}
