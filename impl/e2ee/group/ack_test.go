package group

import (
	"bytes"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"pgregory.net/rapid"
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

// TestPropEpochAck: across random commits by random members, every member's acknowledgement of
// the current epoch is accepted by every other member, and an acknowledgement made at any
// earlier epoch, or of any other epoch number, is rejected (spec §7.3 [GRP-21] [GRP-22]).
func TestPropEpochAck(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		var old [][]byte
		for range rapid.IntRange(1, 6).Draw(t, "epochs") {
			old = append(old, w.get("u0").st.AckHash())
			w.recommit(t, rapid.SampledFrom(w.clients).Draw(t, "committer"))
			epoch := w.clients[0].st.Epoch()
			for _, s := range w.clients {
				hash := s.st.AckHash()
				for _, r := range w.clients {
					if err := r.st.CheckEpochAck(s.name, epoch, hash); err != nil {
						t.Fatalf("GRP-22: %s rejects %s's acknowledgement of epoch %d: %v", r.name, s.name, epoch, err)
					}
					if err := r.st.CheckEpochAck(s.name, epoch+1, hash); !errors.Is(err, e2ee.BadEpochAck) {
						t.Fatalf("GRP-22: %s accepts an acknowledgement for epoch %d at epoch %d: %v", r.name, epoch+1, epoch, err)
					}
				}
			}
			stale := rapid.SampledFrom(old).Draw(t, "stale")
			if err := w.clients[0].st.CheckEpochAck("u1", epoch, stale); !errors.Is(err, e2ee.BadEpochAck) {
				t.Fatalf("GRP-22: an acknowledgement of an earlier commit is accepted at epoch %d: %v", epoch, err)
			}
		}
	})
}
