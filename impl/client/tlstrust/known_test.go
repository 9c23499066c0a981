package tlstrust

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wss://Example.ORG/", "example.org:443"},
		{"wss://127.0.0.1:8443/", "127.0.0.1:8443"},
		{"wss://[::1]:9/x", "[::1]:9"},
	}
	for _, tc := range tests {
		got, err := HostPort(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("HostPort(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"ws://example.org/", "https://example.org/", "wss:///x", "::"} {
		if _, err := HostPort(bad); err == nil {
			t.Errorf("HostPort(%q) succeeded, want an error", bad)
		}
	}
}

// TestKnownServers checks the known_servers file of spec Appendix C and that a host keeps its
// pin until the user removes it: spec §4.1 [TLS-4].
func TestKnownServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "known_servers")
	k := OpenKnownServers(path)
	a, _ := ParsePin("sha256:" + strings.Repeat("0a", 32))
	b, _ := ParsePin("sha256:" + strings.Repeat("0b", 32))
	if _, ok, err := k.Lookup("h:1"); ok || err != nil {
		t.Fatalf("lookup in missing file: %v %v", ok, err)
	}
	if err := k.Add("h:1", a); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("h:1", a); err != nil {
		t.Fatalf("adding the same pin again: %v", err)
	}
	if err := k.Add("h:1", b); err == nil {
		t.Fatal("a different pin for a pinned host was accepted [TLS-4]")
	}
	if err := k.Add("g:2", b); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	want := "h:1 " + a.String() + "\ng:2 " + b.String() + "\n"
	if string(data) != want {
		t.Fatalf("file\n%s\nwant\n%s", data, want)
	}
	if got, ok, _ := k.Lookup("h:1"); !ok || got != a {
		t.Fatalf("lookup h:1 = %s %v", got, ok)
	}
	if removed, err := k.Remove("h:1"); !removed || err != nil {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if removed, _ := k.Remove("h:1"); removed {
		t.Fatal("removed twice")
	}
	if err := k.Add("h:1", b); err != nil {
		t.Fatalf("re-pin after removal: %v", err)
	}
	list, _ := k.List()
	if len(list) != 2 || list[0].HostPort != "g:2" || list[1].Pin != b {
		t.Fatalf("list %+v", list)
	}
}

func TestKnownServersMalformed(t *testing.T) {
	tests := []string{
		"h:1\n",
		"h:1 sha256:00\n",
		"nohostport sha256:" + strings.Repeat("00", 32) + "\n",
		"h:1 sha256:" + strings.Repeat("00", 32) + " extra\n",
	}
	for _, content := range tests {
		path := filepath.Join(t.TempDir(), "known_servers")
		if err := os.WriteFile(path, []byte("# comment\n\n"+content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := OpenKnownServers(path).Lookup("h:1")
		if err == nil || !strings.Contains(err.Error(), ":3:") {
			t.Errorf("content %q: error %v, want one naming line 3", content, err)
		}
	}
}
