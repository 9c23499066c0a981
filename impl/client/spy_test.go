package client_test

import (
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/wire"
)

func isOutcome(err error, o string) bool { return errors.Is(err, e2ee.Outcome(o)) }

// spyState rebuilds p's group state from the commits it accepted, as a dishonest member that
// never erased its secret would hold it.
func spyState(t *testing.T, p *peer, commits []*wire.Commit) *group.State {
	t.Helper()
	st, err := group.Join(group.Config{Group: commits[0].Group, Self: p.name, Identity: p.key, Pins: trust.NewMemory()}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commits {
		gc := groupCommitOf(c)
		if _, err := st.ReceiveCommit(&gc); err != nil {
			t.Fatalf("spy: epoch %d: %v", c.Epoch, err)
		}
	}
	return st
}

func groupCommitOf(c *wire.Commit) group.Commit {
	out := group.Commit{Group: c.Group, Epoch: uint64(c.Epoch), Committer: c.Committer, Prev: c.Prev, Confirm: c.Confirm, Sig: c.Sig}
	for _, m := range c.Members {
		out.Members = append(out.Members, group.Member{User: m.User, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig})
	}
	for _, w := range c.Wraps {
		out.Wraps = append(out.Wraps, group.Wrap{User: w.User, Wrap: w.Wrap})
	}
	return out
}

func groupMsgOf(m *wire.GroupMsg) group.Message {
	return group.Message{Group: m.Group, Epoch: uint64(m.Epoch), N: uint64(m.N), CT: m.Ct, Sig: m.Sig}
}
