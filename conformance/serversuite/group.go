package serversuite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// GroupName returns a group name of the case (same form as a username, spec §5.9): unique to
// the case and to this run of the suite (Env), so that the group is new when the case starts.
// Unlike a username, it does not repeat when the run is replayed with the same seed: the server
// keeps a group's epoch and last commit while it is empty (GSV-20), so a second run against the
// same server would otherwise meet the groups the first left at a later epoch. Nothing else in
// a case depends on the name, so a replay still sends the same requests to a group that is new.
func GroupName(t *harness.T, role string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d %s %s", t.Seed(), t.Case().ID, envOf(t).run))
	if len(role) > 20 {
		role = role[:20]
	}
	return "g" + hex.EncodeToString(h[:5]) + "-" + role
}

// Group follows a group of the case as spec §5.9 says the server holds it: the members (sorted),
// the epoch and the last accepted commit. Its methods send requests and check every
// announcement and forward the server owes each member.
type Group struct {
	t       *harness.T
	Name    string
	Members []*Client
	Epoch   int64
	Last    *wire.Commit
}

// NewGroup returns an empty group of the case.
func NewGroup(t *harness.T, role string) *Group { return &Group{t: t, Name: GroupName(t, role)} }

// Names returns the sorted member names.
func (g *Group) Names() []string {
	names := make([]string, len(g.Members))
	for i, m := range g.Members {
		names[i] = m.Name
	}
	return names
}

// Join has c join: ack, then group_members to every member, the joiner included, with
// last_commit for the joiner alone when the epoch is above 0 (GSV-1, GSV-2).
func (g *Group) Join(rule string, c *Client) {
	id := c.ID()
	c.Send(&wire.GroupJoin{ID: id, Group: g.Name})
	c.ExpectAck(rule, id, "group_join")
	g.add(c)
	g.expectAnnouncement(rule, c)
}

// JoinAckFirst is Join for a joiner with nothing else to read: the ack must be its very next
// message, before the group_members its join causes (spec §5.9 [GSV-1]: "answer ack, and then
// send group_members").
func (g *Group) JoinAckFirst(rule string, c *Client) {
	id := c.ID()
	c.Send(&wire.GroupJoin{ID: id, Group: g.Name})
	f := c.Expect(rule, "ack")
	c.checkID(id, f)
	if got := f.Str("for"); got != "group_join" {
		c.t.Mismatch("SRV-13", "ack for group_join", f.Short())
	}
	g.add(c)
	g.expectAnnouncement(rule, c)
}

func (g *Group) add(c *Client) {
	g.Members = append(g.Members, c)
	slices.SortFunc(g.Members, func(a, b *Client) int { return strings.Compare(a.Name, b.Name) })
}

func (g *Group) remove(c *Client) {
	// An empty group keeps its epoch and last commit (spec §5.9 [GSV-20]).
	g.Members = slices.DeleteFunc(g.Members, func(m *Client) bool { return m == c })
}

// Leave has c leave: ack, then group_members to the remaining members (GSV-3).
func (g *Group) Leave(rule string, c *Client) {
	id := c.ID()
	c.Send(&wire.GroupLeave{ID: id, Group: g.Name})
	c.ExpectAck(rule, id, "group_leave")
	g.Left(rule, c)
}

// Left records that c is no longer a member (it left, disconnected or was replaced) and checks
// that every remaining member hears of it (GSV-3).
func (g *Group) Left(rule string, c *Client) {
	g.remove(c)
	g.expectAnnouncement(rule, nil)
}

// expectAnnouncement reads the group_members every member is owed; joiner gets last_commit.
func (g *Group) expectAnnouncement(rule string, joiner *Client) {
	for _, m := range g.Members {
		f := m.Expect(rule, "group_members")
		g.CheckMembers(rule, m, f, m == joiner)
	}
}

// CheckMembers checks a group_members frame received by c against the group.
func (g *Group) CheckMembers(rule string, c *Client, f Frame, joiner bool) {
	var got wire.GroupMembers
	if err := json.Unmarshal(f.Data, &got); err != nil {
		g.t.FatalMismatch(rule, "a valid group_members", f.Short())
	}
	want := fmt.Sprintf("group_members for %s at epoch %d with members %v", g.Name, g.Epoch, g.Names())
	if got.Group != g.Name || got.Epoch != g.Epoch || !slices.Equal(got.Members, g.Names()) {
		g.t.MismatchMsg(rule, want, f.Short(), "wrong announcement to %s", c.label)
	}
	hasLast := f.Has("last_commit")
	switch {
	case joiner && g.Epoch > 0 && !hasLast:
		g.t.MismatchMsg("GSV-2", "last_commit (the commit of epoch "+fmt.Sprint(g.Epoch)+") in the joiner's group_members", f.Short(), "the joiner %s did not get the last commit", c.label)
	case joiner && g.Epoch > 0 && !SameJSON(rawMember(f, "last_commit"), commitJSON(g.Last)):
		g.t.MismatchMsg("GSV-2", "last_commit equal to the accepted commit "+string(commitJSON(g.Last)), f.Short(), "the last commit was changed")
	case (!joiner || g.Epoch == 0) && hasLast:
		g.t.MismatchMsg("GSV-2", "no last_commit", f.Short(), "group_members to %s carries last_commit", c.label)
	}
}

// Commit has c commit the next epoch for the current members: ack to c, the commit forwarded
// unchanged with from = c to every other member (GSV-4, GSV-5).
func (g *Group) Commit(rule string, c *Client) wire.Commit {
	cm := testCommit(g.t, g.Name, g.Epoch+1, c.Name, g.Members)
	id := c.ID()
	c.Send(&wire.GroupCommit{ID: id, Commit: cm})
	c.ExpectAck(rule, id, "group_commit")
	g.Epoch, g.Last = cm.Epoch, &cm
	for _, m := range g.Members {
		if m != c {
			g.ExpectForward(rule, m, c, "group_commit", "commit", commitJSON(&cm))
		}
	}
	return cm
}

// ExpectForward checks that member m receives a message of type typ from sender whose member
// key is the same JSON value as want.
func (g *Group) ExpectForward(rule string, m, sender *Client, typ, key string, want []byte) {
	f := m.Expect(rule, typ)
	if f.Str("from") != sender.Name || !SameJSON(rawMember(f, key), want) {
		g.t.Mismatch(rule, fmt.Sprintf("%s from %s with %s %s", typ, sender.Name, key, want), f.Short())
	}
}

// testCommit builds a commit the server can sequence: the members' real keys, and random
// wraps, confirmation tag and signature (the server does not open them). With no members, the
// committer alone is listed with random keys.
func testCommit(t *harness.T, group string, epoch int64, committer string, members []*Client) wire.Commit {
	cm := wire.Commit{Group: group, Epoch: epoch, Committer: committer, Confirm: Random(t, 32), Sig: Random(t, 64)}
	if epoch > 1 {
		cm.Prev = Random(t, 32)
	}
	if len(members) == 0 {
		cm.Members = []wire.CommitMember{{User: committer, IdentityKey: Random(t, 32), GroupKey: Random(t, 32), GroupKeySig: Random(t, 64)}}
		cm.Wraps = []wire.CommitWrap{{User: committer, Wrap: Random(t, 80)}}
		return cm
	}
	for _, m := range members {
		cm.Members = append(cm.Members, wire.CommitMember{User: m.Name, IdentityKey: m.Key.Public(), GroupKey: m.Key.GroupPublic(), GroupKeySig: m.Key.GroupKeySig(m.Name)})
		cm.Wraps = append(cm.Wraps, wire.CommitWrap{User: m.Name, Wrap: Random(t, 80)})
	}
	return cm
}

func commitJSON(cm *wire.Commit) []byte {
	if cm == nil {
		return []byte("null")
	}
	b, err := json.Marshal(cm)
	if err != nil {
		panic(err)
	}
	return b
}

// rawMember returns the JSON text of member key of a frame's message, or nil.
func rawMember(f Frame, key string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(f.Data, &m) != nil {
		return nil
	}
	return m[key]
}

// countName counts name in the users of a user_list frame.
func countName(f Frame, name string) int {
	users, _ := f.Msg["users"].([]any)
	n := 0
	for _, u := range users {
		if u == name {
			n++
		}
	}
	return n
}

// SameJSON reports whether a and b are the same JSON value (spec SRV-6): objects with the same
// members in any order, arrays element by element, strings after unescaping, and numbers by
// their mathematical value (3 and 3.0 are the same value).
func SameJSON(a, b []byte) bool {
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && sameValue(va, vb)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		rx, okx := new(big.Rat).SetString(x.String())
		ry, oky := new(big.Rat).SetString(y.String())
		return okx && oky && rx.Cmp(ry) == 0
	default:
		return a == b
	}
}
