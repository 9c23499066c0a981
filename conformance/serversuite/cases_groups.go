package serversuite

import (
	"fmt"
	"sync"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

func init() {
	add(harness.Case{ID: "groups/join-announce", Rules: []string{"GSV-1", "GSV-2"},
		Description: "group_join is acked, then group_members with the epoch and the sorted members goes to every member, the joiner included (after its ack), without last_commit at epoch 0",
		Run:         joinAnnounce})
	add(harness.Case{ID: "groups/last-commit-to-joiner", Rules: []string{"GSV-2", "GSV-5"},
		Description: "after a commit, a joiner's group_members carries the accepted commit unchanged as last_commit, and the other members' announcement does not",
		Run:         lastCommitToJoiner})
	add(harness.Case{ID: "groups/leave-and-disconnect", Rules: []string{"GSV-3"},
		Description: "group_leave is acked and announced to the remaining members, a second leave gets not_member, and a member's disconnection is announced too",
		Run:         leaveAndDisconnect})
	add(harness.Case{ID: "groups/commit-checks", Rules: []string{"GSV-4", "GSV-5", "ERR-1"},
		Description: "commits from a non-member (not_member), for a wrong epoch (stale_epoch), with another committer, missing, unsorted or extra members, or mismatched wraps (bad_members) are refused and not forwarded; a valid one is acked and forwarded unchanged to the others",
		Run:         commitChecks})
	add(harness.Case{ID: "groups/commit-race", Rules: []string{"GSV-5", "CLU-6"},
		Description: "two members commit the same next epoch at once, repeatedly: exactly one is acked, the other gets stale_epoch, and every other member receives only the winner",
		Run:         commitRace})
	add(harness.Case{ID: "groups/message-fanout", Rules: []string{"GSV-6", "ERR-1"},
		Description: "a group message for the current epoch reaches every other member and nobody else; one for another epoch gets stale_epoch, one from a non-member not_member",
		Run:         messageFanout})
	add(harness.Case{ID: "groups/limits", Rules: []string{"GSV-7", "ERR-1"},
		Description: "a join by a member gets already_member; joins beyond max_groups for a connection and beyond max_group_members for a group get limit_exceeded",
		Run:         groupLimits})
}

// needGroupOf skips a case that needs a group of n members when the server announced fewer
// (GSV-7's max_group_members).
func needGroupOf(t *harness.T, c *Client, n int) {
	if max := int(c.Limits.MaxGroupMembers); max < n {
		t.Skipf("the case needs a group of %d members; the server announced max_group_members %d", n, max)
	}
}

func joinAnnounce(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	needGroupOf(t, alice, 3)
	g := NewGroup(t, "g")
	for _, c := range []*Client{bob, alice, carol} {
		g.JoinAckFirst("GSV-1", c)
	}
}

func lastCommitToJoiner(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	needGroupOf(t, alice, 3)
	g := NewGroup(t, "g")
	g.Join("GSV-1", alice)
	g.Commit("GSV-5", alice)
	g.Join("GSV-2", bob)
	g.Commit("GSV-5", bob)
	g.Join("GSV-2", carol)
}

func leaveAndDisconnect(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	needGroupOf(t, alice, 3)
	g := NewGroup(t, "g")
	for _, c := range []*Client{alice, bob, carol} {
		g.Join("GSV-1", c)
	}
	g.Commit("GSV-5", alice)
	g.Leave("GSV-3", bob)
	id := bob.ID()
	bob.Send(&wire.GroupLeave{ID: id, Group: g.Name})
	bob.ExpectError("GSV-3", id, "not_member", "group_leave")
	carol.Drop()
	g.Left("GSV-3", carol)
	bob.Quiet("GSV-3", "a member that left still receives the group's announcements")
}

func commitChecks(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	needGroupOf(t, alice, 3)
	g := NewGroup(t, "g")
	g.Join("GSV-1", alice)
	g.Join("GSV-1", bob)
	members := g.Members
	refuse := func(rule string, c *Client, cm wire.Commit, code, why string) {
		id := c.ID()
		c.Send(&wire.GroupCommit{ID: id, Commit: cm})
		f := c.ExpectError(rule, id, code, "group_commit")
		t.Logf("%s: %s", why, f.Str("message"))
	}
	next := func() wire.Commit { return testCommit(t, g.Name, g.Epoch+1, alice.Name, members) }
	refuse("GSV-4", carol, testCommit(t, g.Name, 1, carol.Name, append(members[:len(members):len(members)], carol)), "not_member", "commit from a non-member")
	for _, tc := range []struct {
		code, why string
		spoil     func(*wire.Commit)
	}{
		{"stale_epoch", "epoch two ahead", func(cm *wire.Commit) { cm.Epoch += 1 }},
		{"bad_members", "another committer than the sender", func(cm *wire.Commit) { cm.Committer = bob.Name }},
		{"bad_members", "a member missing", func(cm *wire.Commit) { cm.Members, cm.Wraps = cm.Members[:1], cm.Wraps[:1] }},
		{"bad_members", "members unsorted", func(cm *wire.Commit) {
			cm.Members[0], cm.Members[1] = cm.Members[1], cm.Members[0]
			cm.Wraps[0], cm.Wraps[1] = cm.Wraps[1], cm.Wraps[0]
		}},
		{"bad_members", "a member who is not in the group", func(cm *wire.Commit) {
			extra := testCommit(t, g.Name, cm.Epoch, carol.Name, []*Client{carol})
			cm.Members = append(cm.Members, extra.Members...)
			cm.Wraps = append(cm.Wraps, extra.Wraps...)
		}},
		{"bad_members", "wraps in another order than the members", func(cm *wire.Commit) { cm.Wraps[0], cm.Wraps[1] = cm.Wraps[1], cm.Wraps[0] }},
		{"bad_members", "a wrap missing", func(cm *wire.Commit) { cm.Wraps = cm.Wraps[:1] }},
	} {
		cm := next()
		tc.spoil(&cm)
		refuse("GSV-4", alice, cm, tc.code, tc.why)
	}
	bob.Quiet("GSV-4", "a refused commit was forwarded")
	g.Commit("GSV-5", alice)
	stale := testCommit(t, g.Name, g.Epoch, bob.Name, members)
	refuse("GSV-4", bob, stale, "stale_epoch", "a second commit for the epoch just accepted")
	alice.Quiet("GSV-4", "a refused commit was forwarded")
}

func commitRace(t *harness.T) {
	alice, bob, carol := Register(t, "alice"), Register(t, "bob"), Register(t, "carol")
	needGroupOf(t, alice, 3)
	g := NewGroup(t, "g")
	for _, c := range []*Client{alice, bob, carol} {
		g.Join("GSV-1", c)
	}
	rounds := 5
	if envOf(t).cfg.Quick {
		rounds = 3
	}
	for round := range rounds {
		racers := []*Client{alice, bob}
		commits := make([]wire.Commit, 2)
		ids := make([]string, 2)
		var start, sent sync.WaitGroup
		start.Add(1)
		for i, c := range racers {
			commits[i] = testCommit(t, g.Name, g.Epoch+1, c.Name, g.Members)
			ids[i] = c.ID()
			sent.Go(func() {
				start.Wait()
				c.Send(&wire.GroupCommit{ID: ids[i], Commit: commits[i]})
			})
		}
		start.Done()
		sent.Wait()
		winner := -1
		for i, c := range racers {
			f := c.Response("the answer to the racing commit")
			switch {
			case f.Type == "ack" && f.Str("id") == ids[i]:
				if winner >= 0 {
					t.FatalMismatch("GSV-5", "exactly one of two commits for the same epoch accepted", fmt.Sprintf("round %d: both acked", round))
				}
				winner = i
			case f.Type == "error" && f.Str("code") == "stale_epoch" && f.Str("id") == ids[i]:
			default:
				t.FatalMismatch("GSV-5", "ack or stale_epoch for the racing commit "+ids[i], f.Short())
			}
		}
		if winner < 0 {
			t.FatalMismatch("GSV-5", "exactly one of two commits for the same epoch accepted", fmt.Sprintf("round %d: both refused", round))
		}
		w := racers[winner]
		g.Epoch, g.Last = commits[winner].Epoch, &commits[winner]
		for _, m := range g.Members {
			if m != w {
				g.ExpectForward("GSV-5", m, w, "group_commit", "commit", commitJSON(&commits[winner]))
			}
		}
		t.Logf("round %d: %s won epoch %d", round, w.Name, g.Epoch)
	}
	for _, m := range g.Members {
		m.Quiet("GSV-5", "the losing commit was forwarded")
	}
}

func messageFanout(t *harness.T) {
	alice, bob, carol, dave := Register(t, "alice"), Register(t, "bob"), Register(t, "carol"), Register(t, "dave")
	needGroupOf(t, alice, 3)
	g := NewGroup(t, "g")
	for _, c := range []*Client{alice, bob, carol} {
		g.Join("GSV-1", c)
	}
	g.Commit("GSV-5", alice)
	groupSend(t, g, alice, "GSV-6")
	groupSend(t, g, carol, "GSV-6")
	for _, tc := range []struct {
		c     *Client
		epoch int64
		code  string
	}{
		{bob, g.Epoch + 1, "stale_epoch"},
		{dave, g.Epoch, "not_member"},
	} {
		id := tc.c.ID()
		m := wire.GroupMsg{Group: g.Name, Epoch: tc.epoch, N: 1, Ct: Random(t, 32), Sig: Random(t, 64)}
		tc.c.Send(&wire.GroupMessage{ID: id, Message: m})
		tc.c.ExpectError("GSV-6", id, tc.code, "group_message")
	}
	g.Commit("GSV-5", bob)
	id := alice.ID()
	old := wire.GroupMsg{Group: g.Name, Epoch: g.Epoch - 1, N: 2, Ct: Random(t, 32), Sig: Random(t, 64)}
	alice.Send(&wire.GroupMessage{ID: id, Message: old})
	alice.ExpectError("GSV-6", id, "stale_epoch", "group_message")
	for _, c := range []*Client{alice, bob, carol, dave} {
		c.Quiet("GSV-6", "a group message reached a connection it was not for")
	}
}

func groupLimits(t *harness.T) {
	alice := Register(t, "alice")
	if alice.Limits.MaxGroups == 0 {
		id := alice.ID()
		alice.Send(&wire.GroupJoin{ID: id, Group: GroupName(t, "none-allowed")})
		alice.ExpectError("GSV-7", id, "limit_exceeded", "group_join")
		t.Skipf("max_groups is 0: no group can be joined, so already_member and max_group_members cannot be reached")
	}
	g := NewGroup(t, "first")
	g.Join("GSV-1", alice)
	id := alice.ID()
	alice.Send(&wire.GroupJoin{ID: id, Group: g.Name})
	alice.ExpectError("GSV-7", id, "already_member", "group_join")

	maxGroups := int(alice.Limits.MaxGroups)
	for i := 1; i < maxGroups; i++ {
		NewGroup(t, fmt.Sprintf("more%d", i)).Join("GSV-7", alice)
	}
	id = alice.ID()
	alice.Send(&wire.GroupJoin{ID: id, Group: GroupName(t, "one-too-many")})
	alice.ExpectError("GSV-7", id, "limit_exceeded", "group_join")

	maxMembers := int(alice.Limits.MaxGroupMembers)
	full := NewGroup(t, "full")
	for i := range maxMembers {
		c := Register(t, fmt.Sprintf("m%d", i))
		id := c.ID()
		c.Send(&wire.GroupJoin{ID: id, Group: full.Name})
		c.ExpectAck("GSV-7", id, "group_join")
		full.add(c)
	}
	extra := Register(t, "extra")
	id = extra.ID()
	extra.Send(&wire.GroupJoin{ID: id, Group: full.Name})
	extra.ExpectError("GSV-7", id, "limit_exceeded", "group_join")
	t.Logf("max_groups %d and max_group_members %d reached", maxGroups, maxMembers)
}
