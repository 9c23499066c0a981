package group

import (
	"bytes"
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/vectors"
)

// FuzzReceiveCommit changes one field of a valid commit in a fuzzer-chosen
// way: ReceiveCommit never panics, rejects with a typed error, and a
// rejection leaves the state as it was (GRP-10).
func FuzzReceiveCommit(f *testing.F) {
	f.Add(uint8(0), uint16(0), byte(1), "")
	f.Add(uint8(3), uint16(7), byte(0x80), "mallory")
	f.Add(uint8(5), uint16(40), byte(2), "x")
	// From every commit of vectors/group.json, positive and negative
	// (VEC-1): each of the twelve changes, with the commit's names as the
	// text and byte positions and masks taken from its signature.
	g := loadGroupVectors(f)
	var commits []vectors.CommitObject
	for _, c := range g.v.Commits {
		commits = append(commits, c.Commit)
	}
	for _, c := range g.v.Negative {
		for _, st := range c.Steps {
			if st.Commit != nil {
				commits = append(commits, *st.Commit)
			}
		}
	}
	seeds := 0
	for _, c := range commits {
		if len(c.Sig) < 3 {
			continue
		}
		texts := []string{c.Group, c.Committer}
		for _, m := range c.Members {
			texts = append(texts, m.User)
		}
		for field := range uint8(12) {
			f.Add(field, uint16(c.Sig[0])<<8|uint16(c.Sig[1]), c.Sig[2]|1, texts[int(field)%len(texts)])
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds from vectors/group.json")
	}
	f.Fuzz(func(t *testing.T, field uint8, at uint16, xor byte, text string) {
		w := newWorld(t, "alice", "bob")
		alice, bob := w.get("alice"), w.get("bob")
		p, err := alice.st.CreateCommit([]Member{bob.member()})
		if err != nil {
			t.Fatal(err)
		}
		c := cloneCommit(&p.Commit)
		mutateCommit(c, field, int(at), xor, text)
		before := snapshot(bob.st)
		_, err = bob.st.ReceiveCommit(c)
		if err == nil {
			return // the change was a no-op, such as an equal string
		}
		var e *e2ee.Error
		if !errors.As(err, &e) || snapshot(bob.st) != before {
			t.Fatalf("field %d: %v", field, err)
		}
	})
}

func flipAt(b []byte, at int, xor byte) []byte {
	c := bytes.Clone(b)
	if len(c) == 0 {
		return []byte{xor}
	}
	c[at%len(c)] ^= xor
	return c
}

func mutateCommit(c *Commit, field uint8, at int, xor byte, text string) {
	i := at % len(c.Members)
	switch field % 12 {
	case 0:
		c.Group = text
	case 1:
		c.Epoch ^= uint64(xor) << (at % 64)
	case 2:
		c.Committer = text
	case 3:
		c.Prev = flipAt(c.Prev, at, xor)
	case 4:
		c.Members[i].User = text
	case 5:
		c.Members[i].IdentityKey = flipAt(c.Members[i].IdentityKey, at, xor)
	case 6:
		c.Members[i].GroupKey = flipAt(c.Members[i].GroupKey, at, xor)
	case 7:
		c.Members[i].GroupKeySig = flipAt(c.Members[i].GroupKeySig, at, xor)
	case 8:
		c.Wraps[i].Wrap = flipAt(c.Wraps[i].Wrap, at, xor)
	case 9:
		c.Confirm = flipAt(c.Confirm, at, xor)
	case 10:
		c.Sig = flipAt(c.Sig, at, xor)
	case 11:
		c.Wraps = c.Wraps[:at%len(c.Wraps)]
	}
}

// FuzzOpenMessage feeds arbitrary group messages to a member: Open never
// panics, never releases plaintext, and rejects with a typed error.
func FuzzOpenMessage(f *testing.F) {
	f.Add("alice", uint64(1), uint64(0), []byte("ct"), make([]byte, 64))
	f.Add("bob", uint64(0), uint64(1<<20), []byte{}, []byte{})
	// Every group message of vectors/group.json, positive and negative
	// (VEC-1).
	g := loadGroupVectors(f)
	seeds := 0
	add := func(from string, m vectors.GroupMessageObject) {
		f.Add(from, uint64(m.Epoch), uint64(m.N), []byte(m.CT), []byte(m.Sig))
		seeds++
	}
	for _, m := range g.v.Messages {
		add(m.Sender, m.Message)
	}
	for _, c := range g.v.Negative {
		for _, st := range c.Steps {
			if st.Message != nil {
				add(st.From, *st.Message)
			}
		}
	}
	if seeds == 0 {
		f.Fatal("no seeds from vectors/group.json")
	}
	f.Fuzz(func(t *testing.T, from string, epoch, n uint64, ct, sig []byte) {
		w := newWorld(t, "alice", "bob")
		pt, err := w.get("bob").st.Open(nil, from, &Message{Group: "broadcast", Epoch: epoch, N: n, CT: ct, Sig: sig})
		var e *e2ee.Error
		if pt != nil || !errors.As(err, &e) {
			t.Fatalf("Open = %x, %v", pt, err)
		}
	})
}
