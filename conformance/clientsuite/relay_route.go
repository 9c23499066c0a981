package clientsuite

import (
	"fmt"
	"slices"

	"github.com/blindpost/blindpost/impl/wire"
)

// GroupIn is a group request of the client as the relay saw it: a group_join, group_leave,
// group_commit or group_message, and the error the relay answered instead of an ack, if any.
type GroupIn struct {
	Msg     wire.Message
	Refused string
}

// relayGroup is a group as the relay keeps it (spec §5.9).
type relayGroup struct {
	name    string
	members []string // sorted: the virtual members and, once it joined, the client
	epoch   uint64
	last    *wire.Commit
	inbox   *mailbox[GroupIn]
	// onJoin, when set, alters the group_members the client receives on joining: the malicious
	// relay's announcements (GRP-11).
	onJoin func(*wire.GroupMembers)
}

// handle answers one message of the registered client: it must validate against its schema
// (MSG-6); requests are answered as spec §5 says, and what is addressed to a virtual peer or
// group lands in the case's inboxes.
func (r *Relay) handle(data []byte) {
	m, err := wire.Decode(wire.FromClient, data)
	if err != nil {
		r.t.Mismatch("MSG-6", "messages that validate against schemas/client-message.json", fmt.Sprintf("%s: %v", printable(data), err))
		r.Send(&wire.ErrorMessage{Code: wire.ErrorCodeBadMessage, Message: "the message does not validate"})
		return
	}
	r.mu.Lock()
	r.log = append(r.log, Received{Seq: len(r.log), Msg: m})
	answer := r.answers[m.MessageType()]
	delete(r.answers, m.MessageType())
	r.mu.Unlock()
	if answer != nil {
		r.SendRaw(textFrame, answer(m))
		return
	}
	switch m := m.(type) {
	case *wire.Hello:
		r.refuse(m.ID, "out_of_order", "hello", "already registered")
	case *wire.Register:
		r.refuse(m.ID, "out_of_order", "register", "already registered")
	case *wire.GetPubkey:
		r.pubkey(m)
	case *wire.ListUsers:
		r.Send(&wire.UserList{ID: m.ID, Users: r.Online(), Truncated: false})
	case *wire.ChatRequest:
		r.forward(m.ID, "chat_request", m.To, m)
	case *wire.ChatResponse:
		r.forward(m.ID, "chat_response", m.To, m)
	case *wire.ChatTerminate:
		r.forward(m.ID, "chat_terminate", m.To, m)
	case *wire.Relay:
		r.forward(m.ID, "relay", m.To, m)
	case *wire.GroupJoin:
		r.groupJoin(m)
	case *wire.GroupLeave:
		r.groupLeave(m)
	case *wire.GroupCommit:
		r.groupCommit(m)
	case *wire.GroupMessage:
		r.groupMessage(m)
	default:
		// A request type of the schemas that the relay has no route for: a bug of the runner,
		// which TestRelayRoutesEveryRequest finds first. The client gets an answer (SRV-13).
		r.t.Errorf("clientsuite: the relay has no route for %s requests (relay_route.go)", m.MessageType())
		if req, ok := m.(wire.Request); ok {
			r.refuse(req.RequestID(), "internal", m.MessageType(), "the relay cannot handle this message")
		}
	}
}

// AnswerNext makes the relay answer the client's next request of type typ with the text answer
// returns for it, instead of the honest answer, and act on nothing else in it: the malicious
// relay's replies.
func (r *Relay) AnswerNext(typ string, answer func(wire.Message) []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[typ] = answer
}

// refuse answers a request with an error.
func (r *Relay) refuse(id, code, typ, message string) {
	r.Send(&wire.ErrorMessage{ID: id, Code: wire.ErrorCode(code), Message: message, For: wire.RequestType(typ)})
}

// pubkey serves the directory (spec §5.4), as ServeKey set it.
func (r *Relay) pubkey(m *wire.GetPubkey) {
	r.mu.Lock()
	pk, ok := r.keys[m.User]
	r.mu.Unlock()
	if !ok {
		r.refuse(m.ID, "unknown_user", "get_pubkey", m.User+" is not registered")
		return
	}
	pk.ID = m.ID
	r.Send(&pk)
}

// ServeKey makes get_pubkey answer pk for its user from now on: key substitution.
func (r *Relay) ServeKey(pk wire.Pubkey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[pk.User] = pk
}

// Online returns the users online now: the client and the virtual peers, sorted.
func (r *Relay) Online() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	users := []string{}
	if r.reg.User != "" {
		users = append(users, r.reg.User)
	}
	for name := range r.peers {
		users = append(users, name)
	}
	slices.Sort(users)
	return users
}

// forward acks a message to a virtual peer and puts it in the peer's inbox (spec §5.5).
func (r *Relay) forward(id string, typ wire.AckedType, to string, m wire.Message) {
	r.mu.Lock()
	p, self := r.peers[to], r.reg.User
	_, known := r.keys[to]
	r.mu.Unlock()
	switch {
	case to == self:
		r.refuse(id, "bad_target", string(typ), "a message to yourself")
	case p == nil && known:
		r.refuse(id, "user_offline", string(typ), to+" is not connected")
	case p == nil:
		r.refuse(id, "unknown_user", string(typ), to+" is not registered")
	default:
		r.Send(&wire.Ack{ID: id, For: typ})
		p.inbox.put(m)
	}
}

// group returns the relay's group name, creating it empty.
func (r *Relay) groupLocked(name string) *relayGroup {
	g := r.groups[name]
	if g == nil {
		g = &relayGroup{name: name, inbox: newMailbox[GroupIn]()}
		r.groups[name] = g
	}
	return g
}

// groupJoin adds the client, acks, and announces the members to it with the last commit
// (spec §5.9 GSV-1, GSV-2).
func (r *Relay) groupJoin(m *wire.GroupJoin) {
	r.mu.Lock()
	g := r.groupLocked(m.Group)
	if slices.Contains(g.members, r.reg.User) {
		r.mu.Unlock()
		r.refuse(m.ID, "already_member", "group_join", "already a member")
		return
	}
	g.members = sortedWith(g.members, r.reg.User)
	ann := wire.GroupMembers{Group: g.name, Epoch: int64(g.epoch), Members: slices.Clone(g.members)}
	if g.epoch > 0 {
		ann.LastCommit = g.last
	}
	if g.onJoin != nil {
		g.onJoin(&ann)
	}
	r.mu.Unlock()
	r.Send(&wire.Ack{ID: m.ID, For: "group_join"})
	r.Send(&ann)
	g.inbox.put(GroupIn{Msg: m})
}

// groupLeave removes the client (spec §5.9 GSV-3); the case announces the change to the others.
func (r *Relay) groupLeave(m *wire.GroupLeave) {
	r.mu.Lock()
	g := r.groupLocked(m.Group)
	i := slices.Index(g.members, r.reg.User)
	if i >= 0 {
		g.members = slices.Delete(slices.Clone(g.members), i, i+1)
	}
	r.mu.Unlock()
	if i < 0 {
		r.refuse(m.ID, "not_member", "group_leave", "not a member")
		return
	}
	r.Send(&wire.Ack{ID: m.ID, For: "group_leave"})
	g.inbox.put(GroupIn{Msg: m})
}

// groupCommit sequences the client's commit as spec §5.9 GSV-4 and GSV-5 say: a refused commit
// gets its error and is not forwarded; either way the case sees it.
func (r *Relay) groupCommit(m *wire.GroupCommit) {
	c := &m.Commit
	r.mu.Lock()
	g := r.groupLocked(c.Group)
	refusal, why := commitRefusal(g, r.reg.User, c)
	if refusal == "" {
		g.epoch, g.last = uint64(c.Epoch), c
	}
	r.mu.Unlock()
	if refusal != "" {
		r.refuse(m.ID, refusal, "group_commit", why)
		g.inbox.put(GroupIn{Msg: m, Refused: refusal + ": " + why})
		return
	}
	r.Send(&wire.Ack{ID: m.ID, For: "group_commit"})
	g.inbox.put(GroupIn{Msg: m})
}

// commitRefusal checks a commit as spec §5.9 GSV-4 does, in its order.
func commitRefusal(g *relayGroup, self string, c *wire.Commit) (code, why string) {
	var users, wraps []string
	for _, m := range c.Members {
		users = append(users, m.User)
	}
	for _, w := range c.Wraps {
		wraps = append(wraps, w.User)
	}
	switch {
	case !slices.Contains(g.members, self):
		return "not_member", "the client is not a member of " + g.name
	case uint64(c.Epoch) != g.epoch+1:
		return "stale_epoch", fmt.Sprintf("commit for epoch %d, the group is at epoch %d", c.Epoch, g.epoch)
	case c.Committer != self:
		return "bad_members", fmt.Sprintf("the committer is %s, the sender %s", c.Committer, self)
	case !slices.Equal(users, g.members) || !slices.Equal(wraps, g.members):
		return "bad_members", fmt.Sprintf("members %v and wraps %v, the announced members are %v", users, wraps, g.members)
	}
	return "", ""
}

// groupMessage forwards the client's group message when it is a member and the epoch is
// current (spec §5.9 GSV-6).
func (r *Relay) groupMessage(m *wire.GroupMessage) {
	r.mu.Lock()
	g := r.groupLocked(m.Message.Group)
	member, epoch := slices.Contains(g.members, r.reg.User), g.epoch
	r.mu.Unlock()
	switch {
	case !member:
		r.refuse(m.ID, "not_member", "group_message", "not a member")
		g.inbox.put(GroupIn{Msg: m, Refused: "not_member"})
	case uint64(m.Message.Epoch) != epoch:
		r.refuse(m.ID, "stale_epoch", "group_message", fmt.Sprintf("the group is at epoch %d", epoch))
		g.inbox.put(GroupIn{Msg: m, Refused: "stale_epoch"})
	default:
		r.Send(&wire.Ack{ID: m.ID, For: "group_message"})
		g.inbox.put(GroupIn{Msg: m})
	}
}

// setGroup sets the relay's view of a group: its members (besides the client), epoch and last
// commit.
func (r *Relay) setGroup(name string, members []string, epoch uint64, last *wire.Commit) *relayGroup {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groupLocked(name)
	g.members, g.epoch, g.last = slices.Sorted(slices.Values(members)), epoch, last
	return g
}

// groupView returns the relay's members, epoch and last commit of a group.
func (r *Relay) groupView(name string) ([]string, uint64, *wire.Commit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groupLocked(name)
	return slices.Clone(g.members), g.epoch, g.last
}

// accepted records that the relay accepted a commit of a virtual member.
func (r *Relay) accepted(c *wire.Commit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groupLocked(c.Group)
	g.epoch, g.last = uint64(c.Epoch), c
}

// announce sets a group's members and sends the client group_members without last_commit, as a
// member that did not just join receives it (GSV-1, GSV-3).
func (r *Relay) announce(name string, members []string) {
	r.mu.Lock()
	g := r.groupLocked(name)
	g.members = slices.Sorted(slices.Values(members))
	ann := wire.GroupMembers{Group: name, Epoch: int64(g.epoch), Members: slices.Clone(g.members)}
	r.mu.Unlock()
	r.Send(&ann)
}

func sortedWith(list []string, name string) []string {
	out := append(slices.Clone(list), name)
	slices.Sort(out)
	return out
}

// keyOf returns what the directory serves for user.
func (r *Relay) keyOf(user string) wire.Pubkey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[user]
}
