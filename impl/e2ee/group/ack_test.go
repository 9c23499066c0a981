package group

import (
	"bytes"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
)

// TestEpochAck: the hash a member acknowledges is the hash of the commit it accepted, the same
// for every member of the epoch (spec §7.3 [GRP-21]); an acknowledgement naming the previous
// commit, another epoch, or from a member that holds no secret is rejected (GRP-22).
func TestEpochAck(t *testing.T) {
	w := newWorld(t, "alice", "bob", "carol")
	first := CommitHash(w.commit)
	second := CommitHash(w.recommit(t, w.get("bob")))
	for _, c := range w.clients {
		if got := c.st.AckHash(); !bytes.Equal(got, second) {
			t.Fatalf("GRP-21: %s acknowledges %x, want the hash of epoch 2's commit %x", c.name, got, second)
		}
	}
	alice := w.get("alice").st
	if err := alice.CheckEpochAck("carol", 2, second); err != nil {
		t.Fatalf("GRP-22: the right acknowledgement is rejected: %v", err)
	}
	for _, tc := range []struct {
		name  string
		epoch uint64
		hash  []byte
	}{
		{"the previous commit", 2, first},
		{"another epoch", 1, second},
		{"a truncated hash", 2, second[:31]},
		{"no hash", 2, nil},
	} {
		wantOutcome(t, alice.CheckEpochAck("carol", tc.epoch, tc.hash), e2ee.BadEpochAck, "GRP-22")
	}
	joiner := newClient(t, "dave", 9)
	joiner.join(t, 2, w.commit)
	if joiner.st.AckHash() != nil {
		t.Fatal("GRP-21: a joiner without the epoch secret has an acknowledgement to send")
	}
	wantOutcome(t, joiner.st.CheckEpochAck("carol", 2, second), e2ee.BadEpochAck, "GRP-22")
}
