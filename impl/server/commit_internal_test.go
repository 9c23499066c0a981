package server

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/directory"
)

// slowSave is a directory whose group saves wait until release is closed, after saying on
// entered that one has begun: a commit's fsync that takes as long as the test wants.
type slowSave struct {
	directory.Store
	entered chan struct{}
	release chan struct{}
}

func (d *slowSave) SaveGroup(name string, g directory.Group, max int) (bool, error) {
	d.entered <- struct{}{}
	<-d.release
	return d.Store.SaveGroup(name, g, max)
}

// TestCommitRecordedOutsideLock checks that a group commit is recorded in the directory without
// the hub's lock (spec §5.9 [GSV-20]: on disk before it is acked or forwarded): while the write
// waits, other connections are answered, and a join of the committing group waits for it, so
// that the joiner is told the new epoch and its last commit (GSV-2), never the one before.
func TestCommitRecordedOutsideLock(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowSave{Store: s.dir, entered: make(chan struct{}), release: make(chan struct{})}
	s.dir = slow // before Start: no connection reads it yet
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key, err := identity.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	alice := dialParkingAs(t, s, "alice", key)
	bob := dialParking(t, s, "bob")
	send(t, alice, `{"type":"group_join","id":"j","group":"room"}`)
	expectType(t, alice, "ack", nil)
	expectType(t, alice, "group_members", nil)
	b64 := base64.StdEncoding.EncodeToString
	random := func(n int) string { b := make([]byte, n); rand.Read(b); return b64(b) }
	send(t, alice, fmt.Sprintf(`{"type":"group_commit","id":"c","commit":{"group":"room","epoch":1,"committer":"alice","prev":"",`+
		`"members":[{"user":"alice","identity_key":%q,"group_key":%q,"group_key_sig":%q}],"wraps":[{"user":"alice","wrap":%q}],`+
		`"confirm":%q,"sig":%q}}`, b64(key.Public()), b64(key.GroupPublic()), b64(key.GroupKeySig("alice")), random(80), random(32), random(64)))
	<-slow.entered // the commit is being recorded
	send(t, bob, `{"type":"list_users","id":"l"}`)
	expectType(t, bob, "user_list", nil) // answered: the hub is not locked
	send(t, bob, `{"type":"group_join","id":"j","group":"room"}`)
	close(slow.release)
	expectType(t, alice, "ack", nil) // the commit
	expectType(t, bob, "ack", nil)   // the join, which waited for the commit
	var members struct {
		Epoch      int64
		Members    []string
		LastCommit *struct{ Epoch int64 } `json:"last_commit"`
	}
	expectType(t, bob, "group_members", &members)
	if members.Epoch != 1 || members.LastCommit == nil || members.LastCommit.Epoch != 1 || len(members.Members) != 2 {
		t.Fatalf("bob joined during the commit and was told %+v, want epoch 1 with its last commit and two members", members)
	}
}
