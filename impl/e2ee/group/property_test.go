package group

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"pgregory.net/rapid"
)

// drawWorld draws a group of 2 to 6 members with random seeds.
func drawWorld(t *rapid.T) *world {
	n := rapid.IntRange(2, 6).Draw(t, "members")
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("u%d", i)
	}
	return newWorld(t, names...)
}

// TestPropHonestGroup: every message any member sends opens at every other
// member, across random commits by random members (GRP-13 to GRP-17).
func TestPropHonestGroup(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		steps := rapid.IntRange(1, 12).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			c := rapid.SampledFrom(w.clients).Draw(t, "actor")
			if rapid.IntRange(0, 4).Draw(t, "recommit") == 0 {
				w.recommit(t, c)
				continue
			}
			content := rapid.SliceOfN(rapid.Byte(), 0, 100).Draw(t, "content")
			m, err := c.st.Seal(nil, content)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range w.clients {
				if r == c {
					continue
				}
				pt, err := r.st.Open(nil, c.name, &m)
				if err != nil || !bytes.Equal(pt, content) {
					t.Fatalf("%s reading %s: %v", r.name, c.name, err)
				}
			}
		}
	})
}

// TestPropNonMemberCannotRead: a client that is not listed in a commit can
// neither accept it (not_listed) nor open any wrap in it with its group key,
// so it cannot read the epoch's messages.
func TestPropNonMemberCannotRead(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		out := newClient(t, "outsider", byte(rapid.IntRange(100, 200).Draw(t, "seed")))
		out.join(t, 0, nil)
		_, err := out.st.ReceiveCommit(w.commit)
		if !errors.Is(err, e2ee.NotListed) && !errors.Is(err, e2ee.BadPrev) {
			t.Fatalf("outsider accepted the commit: %v", err)
		}
		out.join(t, 0, nil)
		for _, wr := range w.commit.Wraps {
			for _, user := range []string{wr.User, "outsider"} {
				if _, err := out.id.OpenGroupWrap(WrapInfo("broadcast", 1, user), wr.Wrap); !errors.Is(err, e2ee.BadWrap) {
					t.Fatalf("outsider opened %s's wrap: %v", wr.User, err)
				}
			}
		}
		sender := rapid.SampledFrom(w.clients).Draw(t, "sender")
		m, _ := sender.st.Seal(nil, []byte("members only"))
		if pt, err := out.st.Open(nil, sender.name, &m); err == nil || pt != nil {
			t.Fatal("outsider read a group message")
		}
	})
}

// TestPropMemberCannotForge: a member who derives another member's sender
// key (every member can) and encrypts in their name is caught by every other
// member as forged_sender, whatever content and counter it picks (GRP-16).
func TestPropMemberCannotForge(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		forger := rapid.SampledFrom(w.clients).Draw(t, "forger")
		victim := rapid.SampledFrom(w.clients).Filter(func(c *client) bool { return c != forger }).Draw(t, "victim")
		n := rapid.Uint64Range(0, MaxJump).Draw(t, "n")
		st, err := newSenderState(forger.st.secret, "broadcast", forger.st.epoch, victim.name)
		if err != nil {
			t.Fatal(err)
		}
		nonce, ad := st.prepare(n)
		ct := st.aead.Seal(nil, nonce, rapid.SliceOf(rapid.Byte()).Draw(t, "content"), ad)
		m := Message{Group: "broadcast", Epoch: forger.st.epoch, N: n, CT: ct, Sig: forger.id.Sign(append(bytes.Clone(ad), ct...))}
		for _, r := range w.clients {
			if r == forger {
				continue
			}
			pt, err := r.st.Open(nil, victim.name, &m)
			if !errors.Is(err, e2ee.ForgedSender) || pt != nil {
				t.Fatalf("%s accepted a forgery in %s's name: %v", r.name, victim.name, err)
			}
		}
	})
}

// TestPropSplitSecret: a committer that wraps different secrets to different
// members is caught, by every member whose secret differs from the one the
// confirmation tag was made with, as bad_confirmation_tag (GRP-9).
func TestPropSplitSecret(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := drawWorld(t)
		committer := rapid.SampledFrom(w.clients).Draw(t, "committer")
		var members []Member
		secrets := make([][]byte, len(w.clients))
		for i, c := range w.clients { // clients are named in sorted order
			members = append(members, c.member())
			secrets[i] = bytes.Repeat([]byte{byte(rapid.IntRange(1, 3).Draw(t, "secret"))}, 32)
		}
		confirmSecret := bytes.Repeat([]byte{byte(rapid.IntRange(1, 3).Draw(t, "confirm"))}, 32)
		c := Commit{Group: "broadcast", Epoch: 2, Committer: committer.name, Prev: CommitHash(w.commit), Members: members}
		if _, err := committer.st.seal(&c, secrets, confirmSecret); err != nil {
			t.Fatal(err)
		}
		for i, r := range w.clients {
			if r == committer {
				continue
			}
			_, err := r.st.ReceiveCommit(&c)
			if bytes.Equal(secrets[i], confirmSecret) {
				if err != nil {
					t.Fatalf("%s refused a consistent secret: %v", r.name, err)
				}
			} else if !errors.Is(err, e2ee.BadConfirmationTag) {
				t.Fatalf("%s accepted a split secret: %v", r.name, err)
			}
		}
	})
}
