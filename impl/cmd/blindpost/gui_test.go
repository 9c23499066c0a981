package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a command writing while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestGUIPrintsAddress: with --no-browser, gui prints the one-time address of a loopback page
// that serves until the command is interrupted; an explicit non-loopback --listen is warned
// about. Rules: GUI-1, GUI-2.
func TestGUIPrintsAddress(t *testing.T) {
	tests := []struct {
		name, listen, host, warn string
	}{
		{"default loopback", "", "http://127.0.0.1:", ""},
		{"explicit wildcard", "0.0.0.0:0", "http://127.0.0.1:", "non-loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outR, outW := io.Pipe()
			var stderr lockedBuffer
			a := newApp(strings.NewReader(""), outW, &stderr)
			args := []string{"gui", "--config-dir", t.TempDir(), "--no-browser", "--verbose"}
			if tt.listen != "" {
				args = append(args, "--listen", tt.listen)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() { done <- a.runContext(ctx, args); outW.Close() }()
			sc := bufio.NewScanner(outR)
			var url string
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "http://") {
					url = line
					break
				}
			}
			go io.Copy(io.Discard, outR)
			if !strings.HasPrefix(url, tt.host) || !strings.Contains(url, "/?token=") {
				t.Fatalf("printed address %q, want %s…/?token= [GUI-1] [GUI-2]", url, tt.host)
			}
			if tt.warn != "" && !strings.Contains(stderr.String(), tt.warn) {
				t.Errorf("no warning for --listen %s [GUI-1]: %q", tt.listen, stderr.String())
			}
			client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("opening the address: %s", resp.Status)
			}
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Fatalf("exit %d after interrupt: %s", code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("gui did not stop when interrupted")
			}
		})
	}
}
