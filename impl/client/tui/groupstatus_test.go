package tui

import (
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/client"
)

// TestGroupStatusSecuredWith: the status line of a group claims to be secured only with the
// members that showed they hold the epoch, names the others, and shows the padlock only when
// nobody is missing (spec §9 [CLI-31]).
func TestGroupStatusSecuredWith(t *testing.T) {
	h := newHarness(t, Options{JoinBroadcast: true})
	members := []string{"alice", "bob", "carol"}
	h.events(client.GroupMembersEvent{Group: client.Broadcast, Epoch: 1, Members: members},
		client.GroupEvent{Group: client.Broadcast, Epoch: 2, Members: members, Committer: "alice", Missing: []string{"bob", "carol"}})
	for _, step := range []struct {
		ev        client.Event
		want, not string
	}{
		{nil, "secured with 0 of 2 · waiting for bob, carol to confirm epoch 2", "🔒"},
		{client.GroupSecuredEvent{Group: client.Broadcast, Epoch: 2, Members: members, SecuredWith: []string{"bob"}, Missing: []string{"carol"}},
			"secured with bob (1 of 2) · waiting for carol to confirm epoch 2", "🔒"},
		{client.GroupSecuredEvent{Group: client.Broadcast, Epoch: 1, Members: members, SecuredWith: []string{"bob", "carol"}},
			"secured with bob (1 of 2)", "🔒"}, // an older epoch's count changes nothing
		{client.GroupSecuredEvent{Group: client.Broadcast, Epoch: 2, Members: members, SecuredWith: []string{"bob", "carol"}},
			"🔒 secured with bob, carol · epoch 2", "waiting"},
	} {
		if step.ev != nil {
			h.events(step.ev)
		}
		got := h.status()
		if !strings.Contains(got, step.want) || strings.Contains(got, step.not) {
			t.Fatalf("CLI-31: status line %q; want %q and no %q", got, step.want, step.not)
		}
	}
}
