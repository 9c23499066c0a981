package server_test

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/gorilla/websocket"
	"pgregory.net/rapid"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// The model's world: a few users, one of them (obs) always online as the observer that makes
// every step a barrier, a name nobody ever binds, and a few groups.
var (
	modelUsers  = []string{"ann", "ben", "cat", "dan", "eve"}
	modelGroups = []string{"g1", "g2", "g3"}
)

const (
	observer      = "obs"
	neverBound    = "zed"
	modelMaxUsers = 5 // with obs, the fifth of modelUsers to register finds the directory full
	modelMaxGrp   = 2
	modelMaxMem   = 3
)

// mgroup is the model of a group at the server (spec §5.9).
type mgroup struct {
	epoch   int
	members map[string]bool
	last    msg // the last accepted commit
}

func (g *mgroup) sorted() []string { return slices.Sorted(maps.Keys(g.members)) }

// machine drives a real server and a model of spec §5 side by side.
type machine struct {
	srv     *servertest.Server
	keys    map[string]*identity.PrivateKey // each name's one identity key
	conns   map[string]*client              // the registered connection of each online name
	bound   map[string]bool
	groups  map[string]*mgroup
	chats   map[mchatKey]bool // the accepted chats (SES-1), by session and the two names
	expects map[string][]msg  // what each online client must receive, in order, this step
	seq     int
}

// TestServerModel is the rapid state-machine test of spec §5: random sequences of connects,
// registrations good and bad, replacements, relays, directory and list requests, group joins,
// leaves, commits and messages, malformed messages and disconnects, from several clients; every
// server message is checked against the model (and the server-to-client schema), and every step
// ends with a barrier on every online client so that nothing unexpected was sent.
// Rules: REG-2 REG-3 REG-5 REG-6 REG-7 REG-8 REG-13 SRV-1 SRV-3 SRV-4 SRV-6 SRV-7 SRV-8 SRV-9
// SRV-13 ERR-1 ERR-3 GSV-1 GSV-2 GSV-3 GSV-4 GSV-5 GSV-6 GSV-7 MSG-5 SES-1 SES-2 SES-3.
func TestServerModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := newMachine(t, rt)
		defer m.srv.Close()
		rt.Repeat(map[string]func(*rapid.T){
			"connect":    m.connect,
			"relogin":    m.relogin,
			"disconnect": m.disconnect,
			"relay":      m.relay,
			"chat":       m.chat,
			"chatRelay":  m.chatRelay,
			"chatEnd":    m.chatEnd,
			"getPubkey":  m.getPubkey,
			"join":       m.join,
			"leave":      m.leave,
			"commit":     m.commit,
			"message":    m.message,
			"malformed":  m.malformed,
			"":           m.check,
		})
	})
}

func newMachine(t *testing.T, rt *rapid.T) *machine {
	srv := servertest.StartIn(t, t.TempDir(), func(c *server.Config) {
		c.MaxUsers, c.MaxGroups, c.MaxGroupMembers = modelMaxUsers, modelMaxGrp, modelMaxMem
		c.Rate, c.Burst = 100000, 100000
		c.MaxChats = 100000 // the model has no bound on accepted chats
	})
	m := &machine{srv: srv, keys: map[string]*identity.PrivateKey{}, conns: map[string]*client{},
		bound: map[string]bool{}, groups: map[string]*mgroup{}, chats: map[mchatKey]bool{}, expects: map[string][]msg{}}
	for _, n := range append([]string{observer}, modelUsers...) {
		k, err := identity.Generate(rand.Reader)
		if err != nil {
			rt.Fatal(err)
		}
		m.keys[n] = k
	}
	obs := dial(rt, srv, observer)
	obs.key = m.keys[observer]
	obs.register()
	m.conns[observer], m.bound[observer] = obs, true
	return m
}

func (m *machine) id() string { m.seq++; return fmt.Sprintf("q%d", m.seq) }

func (m *machine) online() []string { return slices.Sorted(maps.Keys(m.conns)) }

// pick draws an online user other than the observer, or skips the action.
func (m *machine) pick(t *rapid.T, label string) string {
	var names []string
	for _, n := range m.online() {
		if n != observer {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Skip("nobody online")
	}
	return rapid.SampledFrom(names).Draw(t, label)
}

// expect queues a message that client name must receive during this step.
func (m *machine) expect(name string, x msg) { m.expects[name] = append(m.expects[name], x) }

func errorMsg(id, code, forType string) msg {
	return msg{"type": "error", "id": id, "code": code, "for": forType}
}

// announce expects group_members for g at every member but except (the joiner's own, with
// last_commit, is queued by the caller).
func (m *machine) announce(name string, g *mgroup, except string) {
	for _, u := range g.sorted() {
		if u != except {
			m.expect(u, msg{"type": "group_members", "group": name, "epoch": g.epoch, "members": g.sorted()})
		}
	}
}

// leaveAll removes user from every group in the model, announcing to the rest (GSV-3).
func (m *machine) leaveAll(user string) {
	for _, name := range modelGroups {
		if g := m.groups[name]; g != nil && g.members[user] {
			m.removeMember(name, user)
		}
	}
}

func (m *machine) removeMember(name, user string) {
	g := m.groups[name]
	delete(g.members, user)
	if len(g.members) == 0 {
		return // GSV-20: an empty group keeps its epoch and last commit
	}
	m.announce(name, g, "")
}

// connect registers an offline user with its key: register_ack, or server_full when the
// directory is full and the name is new (REG-13). One time in four it is a stranger's failed
// registration instead.
func (m *machine) connect(t *rapid.T) {
	if rapid.IntRange(0, 3).Draw(t, "stranger") == 0 {
		m.badRegister(t)
		return
	}
	var offline []string
	for _, n := range modelUsers {
		if m.conns[n] == nil {
			offline = append(offline, n)
		}
	}
	if len(offline) == 0 {
		t.Skip("everybody online")
	}
	name := rapid.SampledFrom(offline).Draw(t, "user")
	c := dial(t, m.srv, name)
	c.key = m.keys[name]
	if !m.bound[name] && len(m.bound) >= modelMaxUsers {
		c.send(c.registerMsg(c.hello(), m.srv.Pin.Bytes()))
		c.expectErrorThenClose("server_full", websocket.ClosePolicyViolation)
		return
	}
	c.register()
	m.conns[name], m.bound[name] = c, true
}

// badRegister tries to register a name with another key (identity_mismatch, REG-6) or with a
// proof for another challenge (bad_proof, REG-2, REG-3); the online user of that name, if any,
// is unaffected.
func (m *machine) badRegister(t *rapid.T) {
	name := rapid.SampledFrom(modelUsers).Draw(t, "user")
	c := dial(t, m.srv, name)
	c.key = m.keys[name]
	if m.bound[name] && rapid.Bool().Draw(t, "mismatch") {
		k, _ := identity.Generate(rand.Reader)
		c.key = k
		c.send(c.registerMsg(c.hello(), m.srv.Pin.Bytes()))
		c.expectErrorThenClose("identity_mismatch", websocket.ClosePolicyViolation)
		return
	}
	c.hello()
	c.send(c.registerMsg(make([]byte, 32), m.srv.Pin.Bytes()))
	c.expectErrorThenClose("bad_proof", websocket.ClosePolicyViolation)
}

// relogin registers an online user again on a new connection: the old one is closed with 4001
// and leaves its groups (REG-7, GSV-3).
func (m *machine) relogin(t *rapid.T) {
	name := m.pick(t, "user")
	old := m.conns[name]
	c := dial(t, m.srv, name)
	c.key = m.keys[name]
	m.leaveAll(name)
	m.endChats(name, "peer_replaced")
	c.register()
	old.expectClose(server.CloseReplaced)
	m.conns[name] = c
}

// disconnect closes a user's connection; its groups hear of it (GSV-3). The observer's list is
// the barrier that the server has noticed.
func (m *machine) disconnect(t *rapid.T) {
	name := m.pick(t, "user")
	m.conns[name].close()
	delete(m.conns, name)
	m.leaveAll(name)
	m.endChats(name, "peer_offline")
	m.conns[observer].waitOnline(m.online()...)
}

// mchatKey names a chat of the model: its session (base64) and its two names, the lesser first.
type mchatKey struct{ sid, lo, hi string }

func newMChatKey(sid, a, b string) mchatKey {
	if b < a {
		a, b = b, a
	}
	return mchatKey{sid, a, b}
}

// endChats ends the chats of name, whose connection ended or was replaced: the peer of each
// hears a chat_terminate of the relay's own with reason, in the order of the session ids
// (SES-3).
func (m *machine) endChats(name, reason string) {
	var ended []mchatKey
	for k := range m.chats {
		if k.lo == name || k.hi == name {
			ended = append(ended, k)
		}
	}
	slices.SortFunc(ended, func(a, b mchatKey) int {
		x, _ := base64.StdEncoding.DecodeString(a.sid)
		y, _ := base64.StdEncoding.DecodeString(b.sid)
		return bytes.Compare(x, y)
	})
	for _, k := range ended {
		delete(m.chats, k)
		peer := k.lo
		if peer == name {
			peer = k.hi
		}
		m.expect(peer, msg{"type": "chat_terminate", "from": name, "session": k.sid, "reason": reason})
	}
}

// chat has one online user ask another, who accepts or declines (SES-1).
func (m *machine) chat(t *rapid.T) {
	from := m.pick(t, "from")
	to := m.pick(t, "to")
	if to == from {
		t.Skip("a chat with oneself")
	}
	sid, id := session(), m.id()
	m.conns[from].send(msg{"type": "chat_request", "id": id, "to": to, "session": sid})
	m.expect(to, msg{"type": "chat_request", "from": from, "session": sid})
	m.expect(from, msg{"type": "ack", "id": id, "for": "chat_request"})
	m.check(t) // the request has arrived before the answer is sent
	accepted := rapid.Bool().Draw(t, "accepted")
	id = m.id()
	m.conns[to].send(msg{"type": "chat_response", "id": id, "to": from, "session": sid, "accepted": accepted})
	m.expect(from, msg{"type": "chat_response", "from": to, "session": sid, "accepted": accepted})
	m.expect(to, msg{"type": "ack", "id": id, "for": "chat_response"})
	if accepted {
		m.chats[newMChatKey(sid, from, to)] = true
	}
}

// pickChat draws an accepted chat and one of its sides, or skips the action.
func (m *machine) pickChat(t *rapid.T) (mchatKey, string, string) {
	keys := slices.SortedFunc(maps.Keys(m.chats), func(a, b mchatKey) int { return cmp.Compare(a.sid, b.sid) })
	if len(keys) == 0 {
		t.Skip("no chat")
	}
	k := rapid.SampledFrom(keys).Draw(t, "chat")
	if rapid.Bool().Draw(t, "side") {
		return k, k.lo, k.hi
	}
	return k, k.hi, k.lo
}

// chatRelay relays inside an accepted chat, which is forwarded (SES-2).
func (m *machine) chatRelay(t *rapid.T) {
	k, from, to := m.pickChat(t)
	id := m.id()
	p := msgPayload(rapid.IntRange(0, 100).Draw(t, "n"), 16)
	m.conns[from].send(msg{"type": "relay", "id": id, "to": to, "session": k.sid, "payload": p})
	m.expect(to, msg{"type": "relay", "from": from, "session": k.sid, "payload": p})
	m.expect(from, msg{"type": "ack", "id": id, "for": "relay"})
}

// chatEnd has one side of an accepted chat terminate it; a relay on it is refused afterwards
// (SES-1, SES-2).
func (m *machine) chatEnd(t *rapid.T) {
	k, from, to := m.pickChat(t)
	id := m.id()
	m.conns[from].send(msg{"type": "chat_terminate", "id": id, "to": to, "session": k.sid})
	m.expect(to, msg{"type": "chat_terminate", "from": from, "session": k.sid})
	m.expect(from, msg{"type": "ack", "id": id, "for": "chat_terminate"})
	delete(m.chats, k)
	m.check(t) // the chat has ended before the other side relays on it
	id = m.id()
	m.conns[to].send(msg{"type": "relay", "id": id, "to": from, "session": k.sid, "payload": msgPayload(0, 16)})
	m.expect(to, errorMsg(id, "not_in_session", "relay"))
}

// relay sends a relay, chat_request, chat_response or chat_terminate to anyone (SRV-1, SRV-6,
// SRV-8, SRV-9); a relay outside a chat is refused (SES-2), and a chat request declined (SES-1).
func (m *machine) relay(t *rapid.T) {
	from := m.pick(t, "from")
	to := rapid.SampledFrom(append([]string{observer, neverBound}, modelUsers...)).Draw(t, "to")
	typ := rapid.SampledFrom([]string{"relay", "chat_request", "chat_response", "chat_terminate"}).Draw(t, "type")
	id, sid := m.id(), session()
	req := msg{"type": typ, "id": id, "to": to, "session": sid}
	fwd := msg{"type": typ, "from": from, "session": sid}
	switch typ {
	case "relay":
		p := msgPayload(rapid.IntRange(0, 100).Draw(t, "n"), 16+rapid.IntRange(0, 64).Draw(t, "size"))
		req["payload"], fwd["payload"] = p, p
	case "chat_response":
		a := rapid.Bool().Draw(t, "accepted")
		req["accepted"], fwd["accepted"] = a, a
	}
	m.conns[from].send(req)
	switch {
	case to == from:
		m.expect(from, errorMsg(id, "bad_target", typ))
	case m.conns[to] != nil && typ == "relay":
		// spec §5.5 [SES-2]: the session is fresh, so no chat that to accepted has it.
		m.expect(from, errorMsg(id, "not_in_session", typ))
	case m.conns[to] != nil:
		m.expect(to, fwd)
		m.expect(from, msg{"type": "ack", "id": id, "for": typ})
		if typ == "chat_request" {
			// to declines at once, so that pending requests stay under their bound (SES-4);
			// after the request has arrived, so that the response answers it (SES-1).
			m.check(t)
			id := m.id()
			m.conns[to].send(msg{"type": "chat_response", "id": id, "to": from, "session": sid, "accepted": false})
			m.expect(from, msg{"type": "chat_response", "from": to, "session": sid, "accepted": false})
			m.expect(to, msg{"type": "ack", "id": id, "for": "chat_response"})
		}
	case m.bound[to]:
		m.expect(from, errorMsg(id, "user_offline", typ))
	default:
		m.expect(from, errorMsg(id, "unknown_user", typ))
	}
}

// getPubkey asks the directory for anyone (SRV-3) or lists the online users (SRV-4).
func (m *machine) getPubkey(t *rapid.T) {
	from := m.pick(t, "from")
	if rapid.Bool().Draw(t, "list") {
		id := m.id()
		m.conns[from].send(msg{"type": "list_users", "id": id})
		m.expect(from, msg{"type": "user_list", "id": id, "users": m.online(), "truncated": false})
		return
	}
	user := rapid.SampledFrom(append([]string{neverBound}, modelUsers...)).Draw(t, "user")
	id := m.id()
	m.conns[from].send(msg{"type": "get_pubkey", "id": id, "user": user})
	if !m.bound[user] {
		m.expect(from, errorMsg(id, "unknown_user", "get_pubkey"))
		return
	}
	k := m.keys[user]
	m.expect(from, msg{"type": "pubkey", "id": id, "user": user, "identity_key": b64(k.Public()),
		"group_key": b64(k.GroupPublic()), "group_key_sig": b64(k.GroupKeySig(user))})
}

// join joins a group (GSV-1, GSV-2, GSV-7).
func (m *machine) join(t *rapid.T) {
	user := m.pick(t, "user")
	name := rapid.SampledFrom(modelGroups).Draw(t, "group")
	id := m.id()
	m.conns[user].send(msg{"type": "group_join", "id": id, "group": name})
	g := m.groups[name]
	inGroups := 0
	for _, other := range m.groups {
		if other.members[user] {
			inGroups++
		}
	}
	switch {
	case g != nil && g.members[user]:
		m.expect(user, errorMsg(id, "already_member", "group_join"))
		return
	case inGroups >= modelMaxGrp, g != nil && len(g.members) >= modelMaxMem:
		m.expect(user, errorMsg(id, "limit_exceeded", "group_join"))
		return
	}
	if g == nil {
		g = &mgroup{members: map[string]bool{}}
		m.groups[name] = g
	}
	g.members[user] = true
	m.expect(user, msg{"type": "ack", "id": id, "for": "group_join"})
	own := msg{"type": "group_members", "group": name, "epoch": g.epoch, "members": g.sorted()}
	if g.epoch > 0 {
		own["last_commit"] = g.last
	}
	m.expect(user, own)
	m.announce(name, g, user)
}

// leave leaves a group (GSV-3).
func (m *machine) leave(t *rapid.T) {
	user := m.pick(t, "user")
	name := rapid.SampledFrom(modelGroups).Draw(t, "group")
	id := m.id()
	m.conns[user].send(msg{"type": "group_leave", "id": id, "group": name})
	if g := m.groups[name]; g == nil || !g.members[user] {
		m.expect(user, errorMsg(id, "not_member", "group_leave"))
		return
	}
	m.expect(user, msg{"type": "ack", "id": id, "for": "group_leave"})
	m.removeMember(name, user)
}

// commit sends a commit, right or wrong in one way (GSV-4, GSV-5).
func (m *machine) commit(t *rapid.T) {
	user := m.pick(t, "user")
	name := rapid.SampledFrom(modelGroups).Draw(t, "group")
	g := m.groups[name]
	epoch, members := 1, []string{user}
	if g != nil {
		epoch = g.epoch + 1
		if len(g.members) > 0 {
			members = g.sorted()
		}
	}
	epoch += rapid.SampledFrom([]int{0, 0, 0, -1, 1}).Draw(t, "epoch skew")
	epoch = max(epoch, 1)
	committer := user
	variant := rapid.SampledFrom([]string{"exact", "exact", "exact", "missing", "committer"}).Draw(t, "variant")
	switch {
	case variant == "missing" && len(members) > 1:
		members = members[1:]
	case variant == "missing":
		members = append(slices.Clone(members), neverBound)
	case variant == "committer":
		committer = neverBound
	}
	cm := commitFor(name, epoch, committer, members...)
	id := m.id()
	m.conns[user].send(msg{"type": "group_commit", "id": id, "commit": cm})
	switch {
	case g == nil || !g.members[user]:
		m.expect(user, errorMsg(id, "not_member", "group_commit"))
	case epoch != g.epoch+1:
		m.expect(user, errorMsg(id, "stale_epoch", "group_commit"))
	case variant != "exact":
		m.expect(user, errorMsg(id, "bad_members", "group_commit"))
	default:
		g.epoch, g.last = epoch, cm
		for _, u := range g.sorted() {
			if u != user {
				m.expect(u, msg{"type": "group_commit", "from": user, "commit": cm})
			}
		}
		m.expect(user, msg{"type": "ack", "id": id, "for": "group_commit"})
	}
}

// message sends a group message for the current epoch or another (GSV-6).
func (m *machine) message(t *rapid.T) {
	user := m.pick(t, "user")
	name := rapid.SampledFrom(modelGroups).Draw(t, "group")
	g := m.groups[name]
	epoch := 1
	if g != nil {
		epoch = max(1, g.epoch+rapid.SampledFrom([]int{0, 0, 0, -1, 1}).Draw(t, "epoch skew"))
	}
	gm := groupMsg(name, epoch, rapid.IntRange(0, 1000).Draw(t, "n"))
	id := m.id()
	m.conns[user].send(msg{"type": "group_message", "id": id, "message": gm})
	switch {
	case g == nil || !g.members[user]:
		m.expect(user, errorMsg(id, "not_member", "group_message"))
	case epoch != g.epoch:
		m.expect(user, errorMsg(id, "stale_epoch", "group_message"))
	default:
		for _, u := range g.sorted() {
			if u != user {
				m.expect(u, msg{"type": "group_message", "from": user, "message": gm})
			}
		}
		m.expect(user, msg{"type": "ack", "id": id, "for": "group_message"})
	}
}

// malformed sends a message the codec rejects; a registered connection stays open (ERR-3),
// an unregistered one is closed (REG-10, REG-8).
func (m *machine) malformed(t *rapid.T) {
	text := rapid.SampledFrom([]string{`{"type":"list_users","x":1}`, `{"type":`, `[]`, `{"type":"list_users","type":"list_users"}`}).Draw(t, "text")
	if rapid.Bool().Draw(t, "unregistered") {
		c := dial(t, m.srv, "tmp")
		if rapid.Bool().Draw(t, "out of order") {
			c.send(msg{"type": "list_users"})
			c.expectErrorThenClose("out_of_order", websocket.ClosePolicyViolation)
			return
		}
		c.sendRaw(text)
		c.expectErrorThenClose("bad_message", websocket.ClosePolicyViolation)
		return
	}
	user := m.pick(t, "user")
	m.conns[user].sendRaw(text)
	m.expect(user, msg{"type": "error", "code": "bad_message"})
}

// check receives what the model expects at every client, then makes every online client a
// barrier: nothing else may have been sent.
func (m *machine) check(t *rapid.T) {
	for _, name := range slices.Sorted(maps.Keys(m.expects)) {
		c := m.conns[name]
		for _, want := range m.expects[name] {
			c.t = t
			got := c.nextMsg()
			if !matches(got, want) {
				t.Fatalf("%s received %s, the model expects %s", name, compact(got), compact(want))
			}
		}
	}
	clear(m.expects)
	for _, name := range m.online() {
		c := m.conns[name]
		c.t = t
		if got := c.sync()["users"]; !sameJSON(got, m.online()) {
			t.Fatalf("user_list %v, the model has %v", got, m.online())
		}
	}
}

// matches compares a received message with the model's; an error's text is for people and is
// not compared, nor its id when the model has none.
func matches(got, want msg) bool {
	if want["type"] != "error" {
		return sameJSON(got, want)
	}
	for _, k := range []string{"type", "code", "id", "for"} {
		if _, ok := want[k]; ok && got[k] != want[k] {
			return false
		}
	}
	return true
}
