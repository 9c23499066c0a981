package client

import (
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/group"
	"github.com/blindpost/blindpost/impl/wire"
)

// Holding an epoch secret proves nothing about the other members: one who rejected the commit
// (a changed key it has not trusted, spec §6.6 [TRUST-2]) holds an older epoch and cannot read
// what is sent now. So the client counts, per epoch, the members that showed they hold it (spec
// §7.3): the committer by its commit, every other member by an authenticated group message of
// the epoch, which each member's epoch acknowledgement provides at once (GRP-21). It claims to
// be secured only with those (spec §9 [CLI-31]).

// GroupSecuredEvent reports that the members of a group epoch that confirmed it changed (spec
// §7.3, §9 [CLI-31]); a GroupEvent opens the epoch with its first lists.
type GroupSecuredEvent struct {
	Group       string
	Epoch       uint64
	Members     []string // the members of the epoch
	SecuredWith []string // the other members of the epoch that showed they hold it, sorted
	Missing     []string // the other members of the epoch that have not, sorted
}

// securedLists splits the other members of the current epoch into the confirmed and the missing.
func (c *Client) securedLists(g *chatGroup) (with, missing []string) {
	if g.st == nil || !g.st.HasSecret() {
		return nil, nil
	}
	for _, m := range g.st.Members() {
		switch {
		case m == c.user:
		case g.confirmed[m]:
			with = append(with, m)
		default:
			missing = append(missing, m)
		}
	}
	return with, missing
}

// startConfirmsLocked opens the count of an epoch just accepted: its committer confirmed it by
// committing, nobody else yet (spec §9 [CLI-31]).
func (g *chatGroup) startConfirmsLocked(info group.EpochInfo) {
	g.confirmed = map[string]bool{info.Committer: true}
}

// confirmLocked counts from as holding the current epoch after an authenticated group message
// of that epoch, and reports a change.
func (c *Client) confirmLocked(g *chatGroup, from string) {
	if g.confirmed[from] {
		return
	}
	if g.confirmed == nil {
		g.confirmed = map[string]bool{}
	}
	g.confirmed[from] = true
	with, missing := c.securedLists(g)
	c.emit(GroupSecuredEvent{Group: g.name, Epoch: g.st.Epoch(), Members: g.st.Members(), SecuredWith: with, Missing: missing})
}

// sendEpochAckLocked sends this member's acknowledgement of the epoch it just accepted from
// another member's commit, before any other message of its own in the epoch (spec §7.3
// [GRP-21]): the group's send gate opens only after it.
func (c *Client) sendEpochAckLocked(g *chatGroup, info group.EpochInfo) {
	if info.Committer == c.user || c.cn == nil {
		return // the commit itself shows the others that the committer holds the epoch
	}
	pt, err := wire.EpochAck{EpochAck: g.st.AckHash()}.MarshalJSON()
	if err != nil {
		c.log.Info("client: cannot encode the epoch acknowledgement", "group", g.name, "err", err)
		return
	}
	msg, err := g.st.Seal(nil, pt)
	clear(pt)
	if err != nil {
		c.log.Info("client: cannot seal the epoch acknowledgement", "group", g.name, "err", err)
		return
	}
	report := c.reportAsync("group_message", "", SessionID{}, g.name)
	reply := func(m inbound, err error) {
		if IsServerError(err, "stale_epoch") {
			// The relay moved on to a newer epoch, whose commit is on its way: this
			// acknowledgement is moot, and so is telling the user about it.
			c.log.Debug("client: epoch acknowledgement overtaken by a newer epoch", "group", g.name)
			return
		}
		report(m, err)
	}
	if err := c.cn.post("group_message", encodeGroupMessage(msg), reply); err != nil {
		c.log.Info("client: cannot send the epoch acknowledgement", "group", g.name, "err", err)
	}
}

// groupPlaintextLocked handles an opened group message: an epoch acknowledgement is checked
// against the commit of its epoch (spec §7.3 [GRP-22]) and shown as nothing but the
// confirmation; anything else must be a content object (GRP-19).
func (c *Client) groupPlaintextLocked(g *chatGroup, m groupMessageMsg, pt []byte) {
	if ack, err := wire.DecodeEpochAck(pt); err == nil {
		if err := g.st.CheckEpochAck(m.from, m.msg.Epoch, ack.EpochAck); err != nil {
			c.securityErr(err, m.from, SessionID{}, g.name)
			return
		}
		c.confirmLocked(g, m.from)
		return
	}
	text, sentAt, err := decodeContent(pt)
	if err != nil { // spec §7.2 [GRP-19]
		c.securityErr(e2ee.Reject(e2ee.BadContent, "GRP-19", "group message %d: %s", m.msg.N, err), m.from, SessionID{}, g.name)
		return
	}
	c.confirmLocked(g, m.from) // any authenticated message of the epoch shows its sender holds it
	c.emit(GroupMessageEvent{Group: g.name, From: m.from, Text: text, Epoch: m.msg.Epoch, N: m.msg.N, SentAt: sentAt})
	c.history().group(g.name, m.from, m.msg.Epoch, m.msg.N, text, sentAt, false)
}

func (GroupSecuredEvent) isEvent() {}
