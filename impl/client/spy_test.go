package client_test

import (
	"errors"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
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
		gc := wireconv.FromCommit(c)
		if _, err := st.ReceiveCommit(&gc); err != nil {
			t.Fatalf("spy: epoch %d: %v", c.Epoch, err)
		}
	}
	return st
}
