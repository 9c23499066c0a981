package server

import (
	"testing"
	"time"

	"github.com/blindpost/blindpost/impl/server/directory"
)

// TestNameRelease checks INV-7: the relay releases the names not registered within --name-ttl,
// and keeps those online however long ago they registered.
func TestNameRelease(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.Clock = func() time.Time { return now }
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, u := range []string{"idle", "online", "recent"} {
		e := directory.Entry{User: u, IdentityKey: make([]byte, 32), GroupKey: make([]byte, 32), GroupKeySig: make([]byte, 64)}
		e.IdentityKey[0] = byte(i)
		if _, err := s.dir.Bind(e, directory.Admission{}); err != nil {
			t.Fatal(err)
		}
	}
	s.hub.register(&conn{}, "online")
	now = now.Add(cfg.NameTTL - time.Hour)
	if err := s.dir.Touch("recent"); err != nil {
		t.Fatal(err)
	}
	if n := s.releaseNames(); n != 0 {
		t.Fatalf("released %d names before the TTL", n)
	}
	now = now.Add(2 * time.Hour)
	if n := s.releaseNames(); n != 1 {
		t.Fatalf("released %d names, want 1 (idle)", n)
	}
	for u, want := range map[string]bool{"idle": false, "online": true, "recent": true} {
		if ok, _ := s.dir.Exists(u); ok != want {
			t.Errorf("%s bound = %v, want %v", u, ok, want)
		}
	}
}
