package serversuite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/statemachine"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

func init() {
	add(harness.Case{ID: "model/state-machine", Timeout: 10 * time.Minute,
		Rules:       []string{"GSV-1", "GSV-2", "GSV-3", "GSV-4", "GSV-5", "GSV-6", "SRV-1", "SRV-3", "SRV-4", "SRV-6", "SRV-8", "SRV-9", "SRV-13", "REG-7", "SES-1", "SES-2", "SES-3"},
		Description: "a seeded state-machine run: three virtual clients connect, reconnect (replacing themselves), disconnect, relay, open chats (accepted or declined) and relay in them, list, look up, join, leave, commit and send to two groups in random order, checked step by step against a model of spec §5; a failure is shrunk to a minimal sequence",
		Run:         modelRun})
}

// modelRun runs the model on the case's seed through the statemachine runner, which needs no
// testing package and no process-wide flags, so that suites can run it concurrently in the
// shipped binary. A failure is shrunk for up to 30 seconds.
func modelRun(t *harness.T) {
	cfg := envOf(t).cfg
	sm := statemachine.Config{Seed: t.Seed() ^ 0x9e3779b97f4a7c15, Checks: cfg.RapidChecks, Steps: cfg.RapidSteps,
		Shrink: 30 * time.Second}
	if d := t.Deadline(); !d.IsZero() {
		sm.Deadline = d.Add(-time.Minute) // stop shrinking in time for the case to report
	}
	seq := 0
	res := statemachine.Check(sm, func(rt *statemachine.T) {
		seq++
		m := newModel(t, rt, seq)
		defer m.close()
		rt.Repeat(m.actions())
		m.quiet(rt)
	})
	if res.Failed && res.Again == 0 && res.Tries > 0 {
		t.Errorf("the state-machine run found a sequence the server gets wrong (sequence %d, %d actions), but none of %d replays failed the same way, so it may depend on timing; the sequence (a, b, c are the virtual clients, x and y the groups):\n%s",
			res.Runs, res.Found, res.Tries, strings.Join(res.Log, "\n"))
		return
	}
	if res.Failed {
		t.Errorf("the state-machine run found a sequence the server gets wrong (sequence %d of %d actions, shrunk to %d in %d replays); the minimal sequence (a, b, c are the virtual clients, x and y the groups):\n%s",
			res.Runs, res.Found, res.Actions, res.Tries, strings.Join(res.Log, "\n"))
		return
	}
	t.Logf("%d sequences of about %d actions, every step as the model says", res.Runs, cfg.RapidSteps)
}

// vuser is a virtual client of the model.
type vuser struct {
	label string // a, b or c
	name  string
	key   *identity.PrivateKey
	conn  *Client // nil while offline
	bound bool    // registered at least once, in this sequence or by an earlier run (learnBindings)
}

// vgroup is a group as the model says the server holds it.
type vgroup struct {
	label   string
	name    string
	members []*vuser // sorted by name
	epoch   int64
	last    *wire.Commit
}

// model is the spec §5 model of one sequence; names are fresh per sequence, so that sequences
// do not see each other's bindings. A replay of the seed against the same server meets the
// bindings of the earlier run (REG-5 keeps them), so the model starts from the server's
// directory (learnBindings).
type model struct {
	t        *harness.T
	users    []*vuser
	groups   []*vgroup
	observer *Client // a registered client outside the model that sees disconnections
	unknown  string  // a name never bound
	wait     time.Duration
	chats    []*vchat // the accepted chats (SES-1)
}

// vchat is an accepted chat of the model: its session and its two sides.
type vchat struct {
	sid  []byte
	a, b *vuser
}

// String shows the labels.
func (ch *vchat) String() string { return ch.a.label + "-" + ch.b.label }

func newModel(t *harness.T, rt *statemachine.T, seq int) *model {
	m := &model{t: t, wait: envOf(t).cfg.Wait, unknown: Name(t, fmt.Sprintf("%d-never", seq))}
	for _, l := range []string{"a", "b", "c"} {
		name := Name(t, fmt.Sprintf("%d-%s", seq, l))
		m.users = append(m.users, &vuser{label: l, name: name, key: Key(t, name, 0)})
	}
	for _, l := range []string{"x", "y"} {
		m.groups = append(m.groups, &vgroup{label: l, name: GroupName(t, fmt.Sprintf("%d-%s", seq, l))})
	}
	obs := Name(t, fmt.Sprintf("%d-observer", seq))
	m.observer = m.connect(rt, "observer", obs, Key(t, obs, 0))
	m.learnBindings(rt)
	return m
}

// learnBindings asks the directory which of the model's names are bound already (SRV-3): by a
// run before this one with the same seed, whose keys were the same (Key).
func (m *model) learnBindings(rt *statemachine.T) {
	for _, u := range m.users {
		id := m.observer.ID()
		m.observer.Send(&wire.GetPubkey{ID: id, User: u.name})
		f := m.next(rt, m.observer, "pubkey or error unknown_user", func(f Frame) bool {
			return f.Str("id") == id && (f.Type == "pubkey" && f.Str("identity_key") == b64(u.key.Public()) || f.Type == "error" && f.Str("code") == "unknown_user")
		})
		u.bound = f.Type == "pubkey"
	}
}

func (m *model) close() {
	for _, u := range m.users {
		if u.conn != nil {
			u.conn.Close()
		}
	}
	m.observer.Close()
}

func (m *model) actions() map[string]func(*statemachine.T) {
	return map[string]func(*statemachine.T){
		"connect":    m.actConnect,
		"disconnect": m.actDisconnect,
		"forward":    m.actForward,
		"list":       m.actList,
		"pubkey":     m.actPubkey,
		"join":       m.actJoin,
		"leave":      m.actLeave,
		"commit":     m.actCommit,
		"message":    m.actMessage,
		"chat":       m.actChat,
		"chatRelay":  m.actChatRelay,
	}
}

// connect opens and registers a connection without stopping the case on failure.
func (m *model) connect(rt *statemachine.T, role, name string, key *identity.PrivateKey) *Client {
	c, resp, err := DialWith(m.t, role, DialOptions{})
	if err != nil {
		rt.Logf("%s cannot connect: %v%s", role, err, statusText(resp))
		rt.Fatalf("%s cannot connect", role)
	}
	c.Name, c.Key = name, key
	c.Send(&wire.Hello{ID: "mh", Protocol: "blindpost/1", User: name})
	f := m.next(rt, c, "hello_ack", func(f Frame) bool { return f.Type == "hello_ack" })
	var ack wire.HelloAck
	if err := json.Unmarshal(f.Data, &ack); err != nil {
		rt.Fatalf("%s: invalid hello_ack: %v", role, err)
	}
	c.Challenge, c.Limits = ack.Challenge, ack.Limits
	c.setPace()
	c.Send(RegisterMsg("mr", key, name, c.Challenge, c.Pin))
	m.next(rt, c, "register_ack", func(f Frame) bool { return f.Type == "register_ack" && f.Str("user") == name })
	return c
}

// next reads the next frame of c, which must satisfy ok. The failure names only what is the
// same in every run of the sequence (virtual labels, types and codes), so that the runner recognises
// the failure while it shrinks; the frame itself goes to the log.
func (m *model) next(rt *statemachine.T, c *Client, what string, ok func(Frame) bool) Frame {
	who := m.labelOf(c)
	f, got := c.NextWithin(what, m.wait)
	if !got {
		rt.Fatalf("%s expected %s: nothing came within %s", who, what, m.wait)
	}
	if !ok(f) {
		rt.Logf("%s (%s) got %s", who, c.label, f.Short())
		rt.Fatalf("%s expected %s, got %s", who, what, summary(f))
	}
	return f
}

// labelOf names a connection by its virtual client.
func (m *model) labelOf(c *Client) string {
	for _, u := range m.users {
		if u.name == c.Name {
			return u.label
		}
	}
	return "the observer"
}

// summary describes a frame by what stays the same across runs: kind, type, code.
func summary(f Frame) string {
	switch {
	case f.Kind == KindClose:
		return fmt.Sprintf("close %d", f.Code)
	case f.Kind != KindText:
		return f.Kind
	case f.Type == "error":
		return "error " + f.Str("code")
	case f.Type == "":
		return "a message without type"
	}
	return f.Type
}

// response reads the answer to a request with id: ack for forType, or error code.
func (m *model) response(rt *statemachine.T, c *Client, id, want string) {
	m.next(rt, c, want+" answering "+id, func(f Frame) bool {
		if f.Str("id") != id {
			return false
		}
		if f.Type == "error" {
			return want == f.Str("code")
		}
		return f.Type == want
	})
}

func (m *model) online() []*vuser {
	var out []*vuser
	for _, u := range m.users {
		if u.conn != nil {
			out = append(out, u)
		}
	}
	return out
}

func (m *model) pickOnline(rt *statemachine.T) *vuser {
	on := m.online()
	if len(on) == 0 {
		rt.Skip("nobody online")
	}
	return statemachine.Pick(rt, on)
}

// String shows the label.
func (u *vuser) String() string { return u.label }

// String shows the label.
func (g *vgroup) String() string { return g.label }

func (m *model) actConnect(rt *statemachine.T) {
	u := statemachine.Pick(rt, m.users)
	old := u.conn
	rt.Logf("%s connects%s", u.label, map[bool]string{true: " again, replacing its connection", false: ""}[old != nil])
	u.conn = m.connect(rt, u.label, u.name, u.key)
	u.bound = true
	if old == nil {
		return
	}
	// REG-7: the older connection is closed with 4001 and leaves its groups (GSV-3).
	m.next(rt, old, "close 4001", func(f Frame) bool { return f.Kind == KindClose && f.Code == 4001 })
	m.gone(rt, u, "peer_replaced")
}

func (m *model) actDisconnect(rt *statemachine.T) {
	u := m.pickOnline(rt)
	rt.Logf("%s disconnects", u.label)
	c := u.conn
	u.conn = nil
	c.CloseAndWait()
	m.gone(rt, u, "peer_offline")
	m.awaitOffline(rt, u)
}

// owed is a frame the server owes a connection, and how to recognise it.
type owed struct {
	conn *Client
	what string
	ok   func(Frame) bool
}

// gone checks what the server owes the others when u's connection ended or was replaced: the
// announcements of the groups it left (GSV-3) and a chat_terminate with reason for each of its
// accepted chats (SES-3). The spec orders neither against the other (on a relay made of
// several nodes they come from different places, §5.11), so each connection may read its
// notices in any order.
func (m *model) gone(rt *statemachine.T, u *vuser, reason string) {
	notices := append(m.leaveAll(u), m.endChats(u, reason)...)
	for _, c := range uniqueConns(notices) {
		var mine []owed
		for _, o := range notices {
			if o.conn == c {
				mine = append(mine, o)
			}
		}
		m.nextAnyOrder(rt, c, mine)
	}
}

// uniqueConns returns the connections of notices, each once, in the order they first appear.
func uniqueConns(notices []owed) []*Client {
	var cs []*Client
	for _, o := range notices {
		if !slices.Contains(cs, o.conn) {
			cs = append(cs, o.conn)
		}
	}
	return cs
}

// nextAnyOrder reads len(want) frames from c and matches each to one of want, in any order.
func (m *model) nextAnyOrder(rt *statemachine.T, c *Client, want []owed) {
	left := slices.Clone(want)
	for len(left) > 0 {
		var whats []string
		for _, o := range left {
			whats = append(whats, o.what)
		}
		what := strings.Join(whats, " and ")
		f := m.next(rt, c, what, func(f Frame) bool {
			return slices.ContainsFunc(left, func(o owed) bool { return o.ok(f) })
		})
		i := slices.IndexFunc(left, func(o owed) bool { return o.ok(f) })
		left = slices.Delete(left, i, i+1)
	}
}

// endChats ends the chats of u, whose connection ended or was replaced, and returns what the
// peer of each is owed: a chat_terminate of the relay's own with reason (SES-3).
func (m *model) endChats(u *vuser, reason string) []owed {
	var ended []*vchat
	m.chats = slices.DeleteFunc(m.chats, func(ch *vchat) bool {
		if ch.a == u || ch.b == u {
			ended = append(ended, ch)
			return true
		}
		return false
	})
	slices.SortFunc(ended, func(x, y *vchat) int { return bytes.Compare(x.sid, y.sid) })
	var notices []owed
	for _, ch := range ended {
		peer := ch.a
		if peer == u {
			peer = ch.b
		}
		sid := b64(ch.sid)
		notices = append(notices, owed{peer.conn, "chat_terminate from " + u.label + " with reason " + reason, func(f Frame) bool {
			return f.Type == "chat_terminate" && f.Str("from") == u.name && f.Str("session") == sid && f.Str("reason") == reason
		}})
	}
	return notices
}

// actChat has one online virtual client ask another, which accepts or declines (SES-1).
func (m *model) actChat(rt *statemachine.T) {
	from, to := m.pickOnline(rt), m.pickOnline(rt)
	if from == to {
		rt.Skip("a chat with oneself")
	}
	accepted := rt.IntN(2) == 1
	rt.Logf("%s asks %s for a chat, which %s", from.label, to.label, map[bool]string{true: "accepts", false: "declines"}[accepted])
	sid := Session(m.t)
	id := from.conn.ID()
	from.conn.Send(&wire.ChatRequest{ID: id, To: to.name, Session: sid})
	m.next(rt, to.conn, "chat_request from "+from.label, func(f Frame) bool {
		return f.Type == "chat_request" && f.Str("from") == from.name && f.Str("session") == b64(sid)
	})
	m.response(rt, from.conn, id, "ack")
	id = to.conn.ID()
	to.conn.Send(&wire.ChatResponse{ID: id, To: from.name, Session: sid, Accepted: accepted})
	m.next(rt, from.conn, "chat_response from "+to.label, func(f Frame) bool {
		return f.Type == "chat_response" && f.Str("from") == to.name && f.Str("session") == b64(sid)
	})
	m.response(rt, to.conn, id, "ack")
	if accepted {
		m.chats = append(m.chats, &vchat{sid: sid, a: from, b: to})
	}
}

// actChatRelay relays inside an accepted chat, in either direction (SES-2).
func (m *model) actChatRelay(rt *statemachine.T) {
	if len(m.chats) == 0 {
		rt.Skip("no chat")
	}
	ch := statemachine.Pick(rt, m.chats)
	from, to := ch.a, ch.b
	if rt.IntN(2) == 1 {
		from, to = to, from
	}
	rt.Logf("%s relays to %s in their chat: expect it forwarded", from.label, to.label)
	p := payloads(m.t)[rt.IntN(5)]
	payload, _ := json.Marshal(p)
	id := from.conn.ID()
	from.conn.Send(&wire.Relay{ID: id, To: to.name, Session: ch.sid, Payload: p})
	m.next(rt, to.conn, "relay from "+from.label, func(f Frame) bool {
		return f.Type == "relay" && f.Str("from") == from.name && f.Str("session") == b64(ch.sid) && SameJSON(rawMember(f, "payload"), payload)
	})
	m.response(rt, from.conn, id, "ack")
}

// leaveAll removes u from its groups, as the server must on disconnection or replacement, and
// returns the announcements the remaining members are owed (GSV-3).
func (m *model) leaveAll(u *vuser) []owed {
	var notices []owed
	for _, g := range m.groups {
		if slices.Contains(g.members, u) {
			m.remove(g, u)
			notices = append(notices, m.announcements(g, nil)...)
		}
	}
	return notices
}

// awaitOffline polls list_users from the observer until u is gone: the server learns of a
// disconnection asynchronously.
func (m *model) awaitOffline(rt *statemachine.T, u *vuser) {
	deadline := time.Now().Add(m.wait)
	for time.Now().Before(deadline) {
		id := m.observer.ID()
		m.observer.Send(&wire.ListUsers{ID: id})
		f := m.next(rt, m.observer, "user_list", func(f Frame) bool { return f.Type == "user_list" && f.Str("id") == id })
		if countName(f, u.name) == 0 {
			return
		}
	}
	rt.Fatalf("%s still listed online %s after it disconnected", u.label, m.wait)
}

func (m *model) actForward(rt *statemachine.T) {
	from := m.pickOnline(rt)
	targets := append([]*vuser{nil}, m.users...) // nil: a name never bound
	to := statemachine.Pick(rt, targets)
	typ := statemachine.Pick(rt, []string{"relay", "chat_request", "chat_response", "chat_terminate"})
	toName, toLabel := m.unknown, "a never-bound name"
	if to != nil {
		toName, toLabel = to.name, to.label
	}
	id := from.conn.ID()
	sid := Session(m.t)
	var req wire.Message
	var payload []byte
	switch typ {
	case "relay":
		p := payloads(m.t)[rt.IntN(5)]
		payload, _ = json.Marshal(p)
		req = &wire.Relay{ID: id, To: toName, Session: sid, Payload: p}
	case "chat_request":
		req = &wire.ChatRequest{ID: id, To: toName, Session: sid}
	case "chat_response":
		req = &wire.ChatResponse{ID: id, To: toName, Session: sid, Accepted: true}
	default:
		req = &wire.ChatTerminate{ID: id, To: toName, Session: sid}
	}
	want := "ack"
	switch {
	case to == from:
		want = "bad_target"
	case to == nil || !to.bound:
		want = "unknown_user"
	case to.conn == nil:
		want = "user_offline"
	case typ == "relay":
		want = "not_in_session" // SES-2: the session is fresh, so no accepted chat has it
	}
	rt.Logf("%s sends %s to %s: expect %s", from.label, typ, toLabel, want)
	from.conn.Send(req)
	if want == "ack" {
		m.next(rt, to.conn, typ+" from "+from.label, func(f Frame) bool {
			return f.Type == typ && f.Str("from") == from.name && !f.Has("to") && f.Str("session") == b64(sid) &&
				(payload == nil || SameJSON(rawMember(f, "payload"), payload))
		})
	}
	m.response(rt, from.conn, id, want)
	if want == "ack" && typ == "chat_request" {
		// The recipient declines at once, so that pending requests stay under their bound
		// (SES-4) in a run of any length.
		id := to.conn.ID()
		to.conn.Send(&wire.ChatResponse{ID: id, To: from.name, Session: sid, Accepted: false})
		m.next(rt, from.conn, "chat_response from "+to.label, func(f Frame) bool {
			return f.Type == "chat_response" && f.Str("from") == to.name && f.Str("session") == b64(sid)
		})
		m.response(rt, to.conn, id, "ack")
	}
}

func (m *model) actList(rt *statemachine.T) {
	u := m.pickOnline(rt)
	var want []string
	for _, o := range m.online() {
		want = append(want, o.name)
	}
	slices.Sort(want)
	rt.Logf("%s lists users: expect %v among them", u.label, labels(m.online()))
	id := u.conn.ID()
	u.conn.Send(&wire.ListUsers{ID: id})
	f := m.next(rt, u.conn, "user_list", func(f Frame) bool { return f.Type == "user_list" && f.Str("id") == id })
	var ours, all []string
	for _, x := range listOf(f, "users") {
		s := fmt.Sprint(x)
		all = append(all, s)
		if slices.ContainsFunc(m.users, func(v *vuser) bool { return v.name == s }) {
			ours = append(ours, s)
		}
	}
	if !slices.Equal(ours, want) || !slices.IsSorted(all) {
		rt.Logf("%s got %s", u.label, f.Short())
		rt.Fatalf("%s: user_list lists %v of the virtual clients (sorted: %v); online are %v", u.label, m.labelsOf(ours), slices.IsSorted(all), labels(m.online()))
	}
}

// labelsOf maps usernames of the model to their labels.
func (m *model) labelsOf(names []string) []string {
	var out []string
	for _, n := range names {
		for _, u := range m.users {
			if u.name == n {
				out = append(out, u.label)
			}
		}
	}
	return out
}

func labels(us []*vuser) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.label)
	}
	return out
}

func (m *model) actPubkey(rt *statemachine.T) {
	u := m.pickOnline(rt)
	target := statemachine.Pick(rt, append([]*vuser{nil}, m.users...))
	id := u.conn.ID()
	if target == nil || !target.bound {
		name := m.unknown
		if target != nil {
			name = target.name
		}
		rt.Logf("%s asks for the key of a name never bound: expect unknown_user", u.label)
		u.conn.Send(&wire.GetPubkey{ID: id, User: name})
		m.response(rt, u.conn, id, "unknown_user")
		return
	}
	rt.Logf("%s asks for the key of %s", u.label, target.label)
	u.conn.Send(&wire.GetPubkey{ID: id, User: target.name})
	m.next(rt, u.conn, "pubkey of "+target.label, func(f Frame) bool {
		return f.Type == "pubkey" && f.Str("id") == id && f.Str("identity_key") == b64(target.key.Public())
	})
}

func (m *model) actJoin(rt *statemachine.T) {
	u := m.pickOnline(rt)
	g := statemachine.Pick(rt, m.groups)
	id := u.conn.ID()
	u.conn.Send(&wire.GroupJoin{ID: id, Group: g.name})
	if slices.Contains(g.members, u) {
		rt.Logf("%s joins %s again: expect already_member", u.label, g.label)
		m.response(rt, u.conn, id, "already_member")
		return
	}
	if len(g.members) >= int(u.conn.Limits.MaxGroupMembers) || m.groupsOf(u) >= int(u.conn.Limits.MaxGroups) {
		rt.Logf("%s joins %s, which is full or one group too many for %s: expect limit_exceeded", u.label, g.label, u.label)
		m.response(rt, u.conn, id, "limit_exceeded")
		return
	}
	rt.Logf("%s joins %s (epoch %d): expect ack and group_members to %v", u.label, g.label, g.epoch, append(labels(g.members), u.label))
	m.response(rt, u.conn, id, "ack")
	g.members = append(g.members, u)
	slices.SortFunc(g.members, func(a, b *vuser) int { return strings.Compare(a.name, b.name) })
	m.announce(rt, g, u)
}

// groupsOf counts the groups u is a member of (GSV-7's max_groups).
func (m *model) groupsOf(u *vuser) int {
	n := 0
	for _, g := range m.groups {
		if slices.Contains(g.members, u) {
			n++
		}
	}
	return n
}

// announce checks the group_members every member is owed; the joiner gets last_commit when
// the epoch is above 0, the others never (GSV-1, GSV-2, GSV-3).
func (m *model) announce(rt *statemachine.T, g *vgroup, joiner *vuser) {
	for _, o := range m.announcements(g, joiner) {
		m.next(rt, o.conn, o.what, o.ok)
	}
}

// announcements returns the group_members of g that every member is owed (announce).
func (m *model) announcements(g *vgroup, joiner *vuser) []owed {
	var names []string
	for _, u := range g.members {
		names = append(names, u.name)
	}
	var notices []owed
	for _, u := range g.members {
		withLast := u == joiner && g.epoch > 0
		name, epoch, last := g.name, g.epoch, g.last
		notices = append(notices, owed{u.conn, fmt.Sprintf("group_members of %s (epoch %d, %v, last_commit %v)", g.label, g.epoch, labels(g.members), withLast), func(f Frame) bool {
			var gm wire.GroupMembers
			if f.Type != "group_members" || json.Unmarshal(f.Data, &gm) != nil {
				return false
			}
			ok := !withLast || SameJSON(rawMember(f, "last_commit"), commitJSON(last))
			return gm.Group == name && gm.Epoch == epoch && slices.Equal(gm.Members, names) && f.Has("last_commit") == withLast && ok
		}})
	}
	return notices
}

func (m *model) remove(g *vgroup, u *vuser) {
	g.members = slices.DeleteFunc(g.members, func(v *vuser) bool { return v == u })
}

func (m *model) actLeave(rt *statemachine.T) {
	u := m.pickOnline(rt)
	g := statemachine.Pick(rt, m.groups)
	id := u.conn.ID()
	u.conn.Send(&wire.GroupLeave{ID: id, Group: g.name})
	if !slices.Contains(g.members, u) {
		rt.Logf("%s leaves %s, not being a member: expect not_member", u.label, g.label)
		m.response(rt, u.conn, id, "not_member")
		return
	}
	rt.Logf("%s leaves %s", u.label, g.label)
	m.response(rt, u.conn, id, "ack")
	m.remove(g, u)
	m.announce(rt, g, nil)
}

func (m *model) clientsOf(g *vgroup) []*Client {
	var cs []*Client
	for _, u := range g.members {
		cs = append(cs, u.conn)
	}
	return cs
}

func (m *model) actCommit(rt *statemachine.T) {
	u := m.pickOnline(rt)
	g := statemachine.Pick(rt, m.groups)
	variant := statemachine.Pick(rt, []string{"next", "next", "skip-epoch", "other-committer", "member-missing"})
	member := slices.Contains(g.members, u)
	cm := testCommit(m.t, g.name, g.epoch+1, u.name, m.clientsOf(g))
	want := "ack"
	switch {
	case !member:
		want = "not_member"
		if len(g.members) == 0 {
			cm = testCommit(m.t, g.name, 1, u.name, nil)
		}
	case variant == "skip-epoch":
		cm.Epoch, want = g.epoch+2, "stale_epoch"
	case variant == "other-committer" && len(g.members) > 1:
		cm.Committer, want = g.members[0].name, "bad_members"
		if g.members[0] == u {
			cm.Committer = g.members[1].name
		}
	case variant == "member-missing" && len(g.members) > 1:
		cm.Members, cm.Wraps, want = cm.Members[1:], cm.Wraps[1:], "bad_members"
	}
	rt.Logf("%s commits epoch %d of %s (%s): expect %s", u.label, cm.Epoch, g.label, variant, want)
	id := u.conn.ID()
	u.conn.Send(&wire.GroupCommit{ID: id, Commit: cm})
	if want == "ack" {
		for _, o := range g.members {
			if o != u {
				m.next(rt, o.conn, "group_commit from "+u.label, func(f Frame) bool {
					return f.Type == "group_commit" && f.Str("from") == u.name && SameJSON(rawMember(f, "commit"), commitJSON(&cm))
				})
			}
		}
		g.epoch, g.last = cm.Epoch, &cm
	}
	m.response(rt, u.conn, id, want)
}

func (m *model) actMessage(rt *statemachine.T) {
	u := m.pickOnline(rt)
	g := statemachine.Pick(rt, m.groups)
	offset := statemachine.Pick(rt, []int64{0, 0, 1, -1})
	epoch := max(g.epoch+offset, 1)
	msg := wire.GroupMsg{Group: g.name, Epoch: epoch, N: 0, Ct: Random(m.t, 24), Sig: Random(m.t, 64)}
	member := slices.Contains(g.members, u)
	want := []string{"ack"}
	switch {
	case !member && epoch != g.epoch:
		want = []string{"not_member", "stale_epoch"} // two defects: the spec gives no precedence
	case !member:
		want = []string{"not_member"}
	case epoch != g.epoch:
		want = []string{"stale_epoch"}
	}
	rt.Logf("%s sends a group message for epoch %d of %s (epoch %d): expect %s", u.label, epoch, g.label, g.epoch, strings.Join(want, " or "))
	id := u.conn.ID()
	u.conn.Send(&wire.GroupMessage{ID: id, Message: msg})
	if want[0] == "ack" {
		raw, _ := json.Marshal(msg)
		for _, o := range g.members {
			if o != u {
				m.next(rt, o.conn, "group_message from "+u.label, func(f Frame) bool {
					return f.Type == "group_message" && f.Str("from") == u.name && SameJSON(rawMember(f, "message"), raw)
				})
			}
		}
	}
	m.next(rt, u.conn, strings.Join(want, " or ")+" answering "+id, func(f Frame) bool {
		got := f.Type
		if got == "error" {
			got = f.Str("code")
		}
		return f.Str("id") == id && slices.Contains(want, got)
	})
}

// quiet checks, at the end of a sequence, that no online client received anything the model
// did not expect.
func (m *model) quiet(rt *statemachine.T) {
	for _, u := range m.online() {
		id := u.conn.ID()
		u.conn.Send(&wire.ListUsers{ID: id})
		m.next(rt, u.conn, "nothing before the user_list answering "+id, func(f Frame) bool { return f.Type == "user_list" && f.Str("id") == id })
	}
}
