package admin

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func listen(t *testing.T) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.sock")
	s, err := Listen(path, func(r Request) Response { return Response{Removed: r.Names} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestSocket checks the socket's mode (0600), a request and its response, and that a second
// relay cannot take over a socket that is served.
func TestSocket(t *testing.T) {
	_, path := listen(t)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v, %v; want 0600", fi, err)
	}
	resp, err := Call(t.Context(), path, Request{Command: UsersRemove, Names: []string{"alice"}})
	if err != nil || len(resp.Removed) != 1 || resp.Removed[0] != "alice" {
		t.Fatalf("Call = %+v, %v", resp, err)
	}
	if _, err := Listen(path, func(Request) Response { return Response{} }); err == nil || !strings.Contains(err.Error(), "served by another process") {
		t.Fatalf("second Listen = %v, want a refusal", err)
	}
}

// TestStaleSocket checks that a socket file left by a relay that did not stop cleanly is
// replaced, and that Call reports ErrNotRunning when nothing serves the socket.
func TestStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Call(t.Context(), path, Request{Command: Status}); err == nil {
		t.Fatal("Call to a stale socket succeeded")
	}
	s, err := Listen(path, func(Request) Response { return Response{Code: "ok"} })
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer s.Close()
	if resp, err := Call(t.Context(), path, Request{Command: Status}); err != nil || resp.Code != "ok" {
		t.Fatalf("Call = %+v, %v", resp, err)
	}
}

// TestHostileRequests checks that what is not one JSON request per line is answered with an
// error and the connection closed, never a panic or a hang, and that a line is bounded.
func TestHostileRequests(t *testing.T) {
	_, path := listen(t)
	for _, tc := range []struct{ name, input string }{
		{"not json", "users list\n"},
		{"json array", "[1,2,3]\n"},
		{"too long", `{"command":"users remove","names":["` + strings.Repeat("a", maxRequest+10) + "\"]}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			go c.Write([]byte(tc.input)) // the server may stop reading a line that is too long
			var resp Response
			if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil || resp.Error == "" {
				t.Fatalf("response = %+v, %v; want an error", resp, err)
			}
		})
	}
}
