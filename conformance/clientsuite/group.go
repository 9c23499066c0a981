package clientsuite

import (
	"cmp"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"runtime"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/direct"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
	"github.com/blindpost/blindpost/impl/e2ee/wireconv"
	"github.com/blindpost/blindpost/impl/wire"
)

// Group is a group as the runner plays it (spec §5.9, §7): the relay's view of members, epoch
// and last commit; the virtual members, each with a group.State of impl/e2ee that verifies what
// the client commits and sends; and the epoch secrets, which the runner knows, so that it can
// seal whatever message a case needs.
type Group struct {
	w       *World
	Name    string
	members []*Peer // the virtual members in the group now
	states  map[string]*group.State
	secrets map[uint64][]byte
	last    *group.Commit
	epoch   uint64
	nextN   map[string]uint64 // the next counter of each sender in the current epoch
	relay   *relayGroup
}

// NewGroup creates a group of virtual members at epoch 1, committed by the first of them.
func (w *World) NewGroup(name string, founders ...*Peer) *Group {
	g := &Group{w: w, Name: name, states: map[string]*group.State{}, secrets: map[uint64][]byte{}, nextN: map[string]uint64{}}
	var names []string
	for _, p := range founders {
		names = append(names, p.Name)
		g.addState(p, 0, nil)
	}
	g.members = founders
	g.relay = w.Relay.setGroup(name, names, 0, nil)
	c, secret := g.Build(founders[0], CommitForge{})
	g.accept(c, secret)
	return g
}

// addState starts p's view of the group from an announcement (GRP-11).
func (g *Group) addState(p *Peer, epoch uint64, last *group.Commit) {
	st, err := group.Join(group.Config{Group: g.Name, Self: p.Name, Identity: p.Key, Pins: trust.NewMemory(), Rand: g.w.randReader()}, epoch, last)
	if err != nil {
		g.w.T.Fatalf("clientsuite: %s joins %s: %v", p.Name, g.Name, err)
	}
	g.states[p.Name] = st
}

// CommitForge says how a commit departs from the honest next commit of a virtual member. The
// zero value is the honest commit.
type CommitForge struct {
	Epoch      uint64                              // default: the current epoch plus one
	Members    func([]group.Member) []group.Member // alters the member list before wrapping
	WrapSecret map[string][]byte                   // wraps another secret to these members
	WrapInfo   map[string]string                   // wraps to these members with the info of another username
	Committer  string                              // default: the committing peer
	Signer     *identity.PrivateKey                // signs instead of the committing peer
	Before     func(*group.Commit)                 // alters the commit before it is hashed, confirmed and signed
	After      func(*group.Commit)                 // alters the commit after: the signature no longer matches
}

// Build creates p's commit of the next epoch for the announced members, with their directory
// keys, as f says (spec §7.1). It returns the commit and its epoch secret.
func (g *Group) Build(p *Peer, f CommitForge) (group.Commit, []byte) {
	members := g.memberEntries()
	if f.Members != nil {
		members = f.Members(members)
	}
	epoch := cmp.Or(f.Epoch, g.epoch+1)
	secret := g.w.RandBytes(group.SecretSize)
	c := group.Commit{Group: g.Name, Epoch: epoch, Committer: cmp.Or(f.Committer, p.Name), Members: members}
	if g.last != nil {
		c.Prev = group.CommitHash(g.last)
	}
	for _, m := range members {
		s := secret
		if ws, ok := f.WrapSecret[m.User]; ok {
			s = ws
		}
		wrap, err := identity.SealGroupWrap(m.GroupKey, group.WrapInfo(g.Name, epoch, cmp.Or(f.WrapInfo[m.User], m.User)), s)
		if err != nil {
			g.w.T.Fatalf("clientsuite: wrap to %s: %v", m.User, err)
		}
		c.Wraps = append(c.Wraps, group.Wrap{User: m.User, Wrap: wrap})
	}
	if f.Before != nil {
		f.Before(&c)
	}
	hash := group.CommitHash(&c)
	confirm, err := group.ConfirmTag(secret, g.Name, c.Epoch, hash)
	if err != nil {
		g.w.T.Fatalf("clientsuite: confirm: %v", err)
	}
	c.Confirm = confirm
	c.Sig = cmp.Or(f.Signer, p.Key).Sign(group.CommitSignatureInput(hash, confirm))
	if f.After != nil {
		f.After(&c)
	}
	return c, secret
}

// memberEntries returns the relay's members with the keys its directory serves.
func (g *Group) memberEntries() []group.Member {
	names, _, _ := g.w.Relay.groupView(g.Name)
	var out []group.Member
	for _, n := range names {
		pk := g.w.Relay.keyOf(n)
		out = append(out, group.Member{User: n, IdentityKey: pk.IdentityKey, GroupKey: pk.GroupKey, GroupKeySig: pk.GroupKeySig})
	}
	return out
}

// OnJoin makes the relay alter, with f, the group_members it sends the client when it joins:
// the malicious relay's announcements (GRP-11).
func (g *Group) OnJoin(f func(*wire.GroupMembers)) {
	g.w.Relay.mu.Lock()
	defer g.w.Relay.mu.Unlock()
	g.relay.onJoin = f
}

// Deliver sends the client a commit stamped from.
func (g *Group) Deliver(from string, c *group.Commit) {
	g.w.Relay.Send(&wire.IncomingGroupCommit{From: from, Commit: wireconv.ToCommit(c)})
}

// accept makes c the current epoch for the virtual members and the relay.
func (g *Group) accept(c group.Commit, secret []byte) {
	for name, st := range g.states {
		if _, err := st.ReceiveCommit(&c); err != nil {
			g.w.T.Fatalf("clientsuite: the virtual member %s rejects the commit of epoch %d: %v", name, c.Epoch, err)
		}
	}
	g.secrets[c.Epoch], g.last, g.epoch = secret, &c, c.Epoch
	clear(g.nextN)
	g.w.Relay.accepted(new(wireconv.ToCommit(&c)))
}

// PeerCommits makes p commit the next epoch honestly and waits for the client to accept it. The
// relay takes the commit before it forwards it (GSV-5), so the client's acknowledgement of the
// epoch (GRP-21) finds the relay at that epoch.
func (g *Group) PeerCommits(p *Peer) group.Commit {
	c, secret := g.Build(p, CommitForge{})
	g.accept(c, secret)
	g.Deliver(p.Name, &c)
	g.ExpectEpoch("", c)
	return c
}

// ExpectEpoch waits for the client's group event of commit c, listing its members. A new epoch
// is held, at first, only by its committer and the client (spec §7.3): the event may claim the
// client secured with the committer and nobody else (CLI-31), and lists the others as missing
// (DRV-34).
func (g *Group) ExpectEpoch(rule string, c group.Commit) {
	l := g.w.Expect(rule, "the group event of "+g.Name+" epoch "+itoa(int(c.Epoch)), GroupEpoch(g.Name, c.Epoch))
	var want, with, missing []string
	for _, m := range c.Members {
		want = append(want, m.User)
		switch {
		case m.User == g.w.Me.User:
		case m.User == c.Committer:
			with = append(with, m.User)
		default:
			missing = append(missing, m.User)
		}
	}
	if got := l.Strs("members"); !slices.Equal(got, want) {
		g.w.T.Errorf("group event %s: want members %v", l, want)
	}
	g.checkSecured(l, with, missing)
}

// checkSecured checks the secured_with and missing of a group event (spec A.2 [DRV-34]): a
// client that counts a member without the evidence of spec §7.3 breaks CLI-31.
func (g *Group) checkSecured(l Line, with, missing []string) {
	if !l.Has("secured_with") || !l.Has("missing") {
		g.w.T.Mismatch("DRV-34", "a group event with secured_with and missing", l.String())
		return
	}
	gotWith, gotMissing := l.Strs("secured_with"), l.Strs("missing")
	for _, u := range gotWith {
		if !slices.Contains(with, u) {
			g.w.T.MismatchMsg("CLI-31", "secured with "+fmtList(with)+" only", l.String(),
				"the client claims to be secured with %s in %s, who has not shown it holds the epoch", u, g.Name)
			return
		}
	}
	if !slices.Equal(gotWith, with) || !slices.Equal(gotMissing, missing) {
		g.w.T.MismatchMsg("DRV-34", "secured_with "+fmtList(with)+", missing "+fmtList(missing), l.String(),
			"the group event of %s lists the members that hold the epoch wrongly", g.Name)
	}
}

func fmtList(names []string) string { return "[" + strings.Join(names, " ") + "]" }

// ExpectSecured waits for the client's group event of the current epoch that lists with as
// holding it and missing as not (spec §7.3, DRV-34).
func (g *Group) ExpectSecured(rule string, with, missing []string) {
	epoch := g.epoch
	l := g.w.Expect(rule, "the group event of "+g.Name+" epoch "+itoa(int(epoch))+" secured with "+fmtList(with), GroupEpoch(g.Name, epoch))
	g.checkSecured(l, with, missing)
}

// ClientJoins makes the client join (driver group_join) and takes the commit it then owes as a
// joiner (spec §7.1 "Who commits").
func (g *Group) ClientJoins() group.Commit {
	g.w.D.OK("group_join", "group", g.Name)
	g.awaitIn("", "the client's group_join", func(m wire.Message) bool { _, ok := m.(*wire.GroupJoin); return ok })
	return g.ClientCommits("its commit adding itself, as it just joined")
}

// ClientCommits takes the commit the client must make now, has every virtual member verify it
// with impl/e2ee/group (a commit they reject breaks the rule they name), learns its secret and
// waits for the client's group event.
func (g *Group) ClientCommits(why string) group.Commit {
	in := g.awaitIn("", why, func(m wire.Message) bool { _, ok := m.(*wire.GroupCommit); return ok })
	if in.Refused != "" {
		g.w.T.Fatalf("the relay refused the client's commit (%s) as the spec's server would: %s", why, in.Refused)
	}
	c := wireconv.FromCommit(&in.Msg.(*wire.GroupCommit).Commit)
	for name, st := range g.states {
		if _, err := st.ReceiveCommit(&c); err != nil {
			g.w.T.MismatchMsg(ruleOf(err), "a commit every member accepts", err.Error(), "the virtual member %s rejects the client's commit: %v", name, err)
			runtime.Goexit()
		}
	}
	g.secrets[c.Epoch], g.last, g.epoch = g.openSecret(&c), &c, c.Epoch
	clear(g.nextN)
	g.ExpectEpoch("", c)
	return c
}

// openSecret opens a virtual member's wrap of c.
func (g *Group) openSecret(c *group.Commit) []byte {
	for _, p := range g.members {
		i := slices.IndexFunc(c.Wraps, func(w group.Wrap) bool { return w.User == p.Name })
		if i < 0 {
			continue
		}
		secret, err := p.Key.OpenGroupWrap(group.WrapInfo(g.Name, c.Epoch, p.Name), c.Wraps[i].Wrap)
		if err == nil {
			return secret
		}
	}
	g.w.T.Fatalf("clientsuite: no virtual member opens a wrap of epoch %d", c.Epoch)
	return nil
}

// awaitIn takes the client's next group request that match selects.
func (g *Group) awaitIn(rule, what string, match func(wire.Message) bool) GroupIn {
	in, ok := g.relay.inbox.nextMatch(g.w.T, what, g.w.Wait, func(in GroupIn) bool { return match(in.Msg) })
	if !ok {
		g.w.T.MismatchMsg(rule, what, "nothing within "+g.w.Wait.String(), "timed out waiting for %s in group %s%s", what, g.Name, g.w.D.exitNote())
		runtime.Goexit()
	}
	return in
}

// PeerJoins adds p: the relay announces the new members to the client, and p follows the group
// from the last commit (the joiner then commits, PeerCommits).
func (g *Group) PeerJoins(p *Peer) {
	g.addState(p, g.epoch, g.last)
	g.members = append(g.members, p)
	names, _, _ := g.w.Relay.groupView(g.Name)
	g.w.Relay.announce(g.Name, append(names, p.Name))
}

// PeerLeaves removes p: the relay announces the remaining members to the client.
func (g *Group) PeerLeaves(p *Peer) {
	g.members = slices.DeleteFunc(g.members, func(m *Peer) bool { return m == p })
	delete(g.states, p.Name)
	names, _, _ := g.w.Relay.groupView(g.Name)
	g.w.Relay.announce(g.Name, slices.DeleteFunc(names, func(n string) bool { return n == p.Name }))
}

// SealAs seals pt as a group message of epoch with counter n, for sender (the name the relay
// stamps, spec §7.2), signed by signer.
func (g *Group) SealAs(signer *identity.PrivateKey, sender string, epoch, n uint64, pt []byte) wire.GroupMsg {
	secret, ok := g.secrets[epoch]
	if !ok {
		secret = g.w.RandBytes(group.SecretSize)
	}
	key, iv, err := group.SenderKeys(secret, g.Name, epoch, sender)
	if err != nil {
		g.w.T.Fatalf("clientsuite: sender keys: %v", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		g.w.T.Fatalf("clientsuite: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		g.w.T.Fatalf("clientsuite: %v", err)
	}
	ad := group.AppendMessageAD(nil, g.Name, epoch, sender, n)
	ct := aead.Seal(nil, direct.Nonce(iv, n), pt, ad)
	return wire.GroupMsg{Group: g.Name, Epoch: int64(epoch), N: int64(n), Ct: ct, Sig: signer.Sign(append(ad, ct...))}
}

// Next returns p's next message of the current epoch, sealing pt honestly.
func (g *Group) Next(p *Peer, pt []byte) wire.GroupMsg {
	n := g.nextN[p.Name]
	g.nextN[p.Name] = n + 1
	return g.SealAs(p.Key, p.Name, g.epoch, n, pt)
}

// Send delivers a group message to the client stamped from.
func (g *Group) Send(from string, m wire.GroupMsg) {
	g.w.Relay.Send(&wire.IncomingGroupMessage{From: from, Message: m})
}

// PeerSends sends text from p and waits for the client to deliver it.
func (g *Group) PeerSends(p *Peer, text string) {
	m := g.Next(p, Content(text))
	g.Send(p.Name, m)
	g.ExpectDelivered(p.Name, text, m)
}

// ExpectDelivered waits for the group_message event of text from sender, with m's epoch and n.
func (g *Group) ExpectDelivered(sender, text string, m wire.GroupMsg) {
	l := g.w.Expect("", "the group_message event of "+text, GroupText(text))
	ep, _ := l.Int("epoch")
	n, _ := l.Int("n")
	if l.Str("group") != g.Name || l.Str("from") != sender || ep != m.Epoch || n != m.N {
		g.w.T.Errorf("group_message event %s: want group %s from %s epoch %d n %d", l, g.Name, sender, m.Epoch, m.N)
	}
}

// ClientSends makes the client send text (driver group_send) and opens the message as a virtual
// member: current epoch, consecutive counters from 0 (GRP-13), a signature and ciphertext that
// verify (GRP-16, GRP-17), a content object carrying text.
func (g *Group) ClientSends(text string) wire.GroupMsg {
	resp := g.w.D.OK("group_send", "group", g.Name, "text", text)
	m, pt, isAck := g.clientMessage("the client's group message")
	for isAck { // the client's acknowledgement of the epoch goes first (GRP-21)
		m, pt, isAck = g.clientMessage("the client's group message")
	}
	epoch, _ := resp.Int("epoch")
	n, _ := resp.Int("n")
	if uint64(m.Epoch) != g.epoch || m.Epoch != epoch || m.N != n {
		g.w.T.Errorf("group_send answered epoch %d n %d; the message carries epoch %d n %d; the group is at epoch %d", epoch, n, m.Epoch, m.N, g.epoch)
	}
	content, err := wire.DecodeContent(pt)
	switch {
	case err != nil:
		g.w.T.Mismatch("MSG-6", "a content object as plaintext", err.Error())
	case content.Text != text:
		g.w.T.Mismatch("GRP-17", "the text "+text, content.Text)
	}
	return m
}

// ruleOf returns the rule an e2ee rejection names.
func ruleOf(err error) string {
	var e *e2ee.Error
	if errors.As(err, &e) {
		return e.Rule
	}
	return ""
}

// clientMessage takes the client's next group message of the current epoch (older ones it sent
// before it learnt of the epoch are passed over), checks its counter (GRP-13) and opens it as a
// virtual member. An epoch acknowledgement must name the current epoch's commit (spec §7.3
// [GRP-21]); isAck reports one.
func (g *Group) clientMessage(what string) (m wire.GroupMsg, pt []byte, isAck bool) {
	me := g.w.Me.User
	for {
		in := g.awaitIn("", what, func(m wire.Message) bool { _, ok := m.(*wire.GroupMessage); return ok })
		m = in.Msg.(*wire.GroupMessage).Message
		if in.Refused == "" && uint64(m.Epoch) == g.epoch {
			break
		}
	}
	if want := g.nextN[me]; uint64(m.N) != want {
		g.w.T.Mismatch("GRP-13", "counter "+itoa(int(want))+" in epoch "+itoa(int(g.epoch)), "counter "+itoa(int(m.N)))
	}
	g.nextN[me] = uint64(m.N) + 1
	st := g.states[g.members[0].Name]
	pt, err := st.Open(nil, me, new(wireconv.FromGroupMsg(&m)))
	if err != nil {
		g.w.T.MismatchMsg(ruleOf(err), "a group message the members open", err.Error(), "%s rejects the client's group message: %v", g.members[0].Name, err)
		runtime.Goexit()
	}
	ack, err := wire.DecodeEpochAck(pt)
	if err != nil {
		return m, pt, false
	}
	if err := st.CheckEpochAck(me, uint64(m.Epoch), ack.EpochAck); err != nil {
		g.w.T.MismatchMsg("GRP-21", "an acknowledgement of the commit of epoch "+itoa(int(g.epoch)), b64(ack.EpochAck),
			"the client acknowledges another commit than the one of epoch %d", g.epoch)
	}
	return m, pt, true
}

// ExpectClientAck takes the client's acknowledgement of the current epoch, which must be its
// first group message of the epoch (spec §7.3 [GRP-21]).
func (g *Group) ExpectClientAck() wire.GroupMsg {
	m, _, isAck := g.clientMessage("the client's acknowledgement of epoch " + itoa(int(g.epoch)))
	if !isAck || m.N != 0 {
		g.w.T.MismatchMsg("GRP-21", "message 0 of epoch "+itoa(int(g.epoch))+" an epoch acknowledgement", "message "+itoa(int(m.N))+" is not",
			"the client's first message of an epoch it accepted is not its acknowledgement")
	}
	return m
}

// EpochAck is the plaintext of an epoch acknowledgement of c (spec §7.3).
func EpochAck(c *group.Commit) []byte {
	b, _ := wire.EpochAck{EpochAck: group.CommitHash(c)}.MarshalJSON()
	return b
}
