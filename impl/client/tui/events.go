package tui

import (
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/display"
	"github.com/blindpost/blindpost/impl/e2ee"
)

// handleEvent renders one event of the library. Every event type is handled, and every
// rejection becomes a visible notice (spec §9 [CLI-2]).
func (m *Model) handleEvent(ev client.Event) tea.Cmd {
	switch e := ev.(type) {
	case client.ConnectionEvent:
		return m.onConnection(e)
	case client.UsersEvent:
		m.online = slices.Clone(e.Users)
	case client.ChatRequestEvent:
		m.onRequest(e)
	case client.SessionEvent:
		m.onSession(e)
	case client.MessageEvent:
		m.message(m.peerConv(e.From), e.From, e.Text)
	case client.GroupMembersEvent:
		m.onMembers(e)
	case client.GroupEvent:
		m.onEpoch(e)
	case client.GroupSecuredEvent: // spec §9 [CLI-31]
		if c := m.groupConv(e.Group); c.epoch == e.Epoch {
			c.missing = slices.Clone(e.Missing)
		}
	case client.GroupLeftEvent:
		m.onGroupLeft(e)
	case client.GroupMessageEvent:
		m.message(m.groupConv(e.Group), e.From, e.Text)
	case client.PinEvent:
		c := m.peerConv(e.Peer)
		c.keyChanged = c.keyChanged && !e.Replaced
		m.note(c, lineInfo, pinText(e))
	case client.SafetyNumberEvent:
		// Shown from the answer of SafetyNumber, with the fingerprint it was computed for.
	case client.SecurityEvent:
		m.onSecurity(e)
	case client.DeliveryEvent:
		m.onDelivery(e)
	case client.ServerErrorEvent:
		m.note(m.securityConv(e.Peer, e.Group), lineInfo, fmt.Sprintf("the relay refused %s: %s", sanitize(e.For), serverErrorText(e.Code, e.Message)))
	}
	return nil
}

// onSecurity shows a rejection in the conversation it concerns, and points to it from the
// selected one, so that no rejection goes unseen (spec §9 [CLI-2]).
func (m *Model) onSecurity(e client.SecurityEvent) {
	c := m.securityConv(e.Peer, e.Group)
	if (e.Code == e2ee.KeyChanged || e.Code == e2ee.KeyNotPinned) && e.Peer != "" && e.Peer != m.me {
		m.peerConv(e.Peer).keyChanged = true // spec §6.6 [TRUST-2]: blocked until /trust
	}
	m.note(c, lineSecurity, securityText(e))
	if c != nil && c.key != m.sel {
		m.note(nil, lineSecurity, fmt.Sprintf("SECURITY %s [%s] concerning %s: see its conversation, marked %s in the list",
			sanitize(string(e.Code)), sanitize(e.Rule), c.title(), m.g.Alert))
	}
}

// securityConv is the conversation a notice about peer or group belongs to: the selected one
// when it names neither.
func (m *Model) securityConv(peer, group string) *conv {
	switch {
	case group != "":
		return m.groupConv(group)
	case peer != "" && peer != m.me:
		return m.peerConv(peer)
	}
	return nil
}

// onConnection follows the connection (spec §9 [CLI-3]).
func (m *Model) onConnection(e client.ConnectionEvent) tea.Cmd {
	was := m.conn.state
	m.conn = conn{state: e.State, attempt: e.Attempt, code: e.Code, reason: sanitize(e.Reason), final: e.Final}
	switch e.State {
	case client.Connected:
		switch was {
		case client.Reconnecting:
			m.note(nil, lineInfo, "reconnected to the relay; sessions and groups go on")
		case client.Disconnected:
			m.note(nil, lineInfo, "connected to the relay (certificate "+shortFP(e.Pin.String())+")")
		}
	case client.Reconnecting:
		m.conn.deadline = m.opts.Now().Add(e.Delay)
		if e.Attempt == 1 { // later attempts count down in the status line
			m.note(nil, lineInfo, fmt.Sprintf("reconnecting in %s (attempt %d); the status line counts down", roundSeconds(e.Delay), e.Attempt))
		}
		return m.countdown()
	case client.Disconnected:
		m.note(nil, lineInfo, disconnectText(e))
	}
	return nil
}

// onRequest shows an incoming chat request; only the user answers it (spec A.2 [DRV-3]).
func (m *Model) onRequest(e client.ChatRequestEvent) {
	c := m.peerConv(e.From)
	c.incoming = e.Session
	m.note(c, lineInfo, e.From+" asks for an end-to-end encrypted chat: /accept (or a) to accept, /decline (or d) to decline")
	if c.key != m.sel {
		m.note(m.current(), lineInfo, e.From+" asks for a chat: select "+e.From+" (marked "+m.g.Request+" in the list) to answer")
	}
}

// onSession follows a session's state. An event for a session that is neither the current one
// nor the waiting request is an older session ending: reported, but the status stays.
func (m *Model) onSession(e client.SessionEvent) {
	c := m.peerConv(e.Peer)
	switch {
	case e.Session == c.incoming:
		c.incoming = client.SessionID{}
		m.adopt(c, e.Session, e.State)
	case e.Session != c.sid && !e.State.Ended():
		m.adopt(c, e.Session, e.State)
	case e.Session != c.sid:
		m.note(c, lineInfo, "an earlier session with "+e.Peer+": "+sessionText(e))
		return
	}
	c.state, c.fingerprint, c.reason = e.State, e.PeerFingerprint, sanitize(e.Reason)
	kind := sessionKind(e.State)
	if _, ok := reasonText(e.Reason, e.Peer); ok {
		kind = lineInfo // the peer left or stalled: explained in words, no attack to report
	}
	m.note(c, kind, m.sessionNotice(e))
}

// adopt makes sid the current session of c.
func (m *Model) adopt(c *conv, sid client.SessionID, state client.SessionState) {
	if c.sid == sid {
		return
	}
	c.sid, c.state, c.fingerprint, c.reason = sid, state, "", ""
}

// sessionNotice describes a session's new state in its conversation.
func (m *Model) sessionNotice(e client.SessionEvent) string {
	if e.State == client.SessionSecured {
		v := "not verified yet: compare safety numbers with /verify"
		if m.verified.IsVerified(e.Peer, e.PeerFingerprint) {
			v = "safety number verified"
		}
		return fmt.Sprintf("%s end-to-end secured with %s, key %s (%s)", m.g.Lock, e.Peer, shortFP(e.PeerFingerprint), v)
	}
	return sessionText(e)
}

// sessionKind is the kind of notice of a state: an unverified end is a security notice.
func sessionKind(s client.SessionState) lineKind {
	if s == client.SessionEndedUnverified || s == client.SessionFailed {
		return lineSecurity
	}
	return lineInfo
}

// onMembers reports who the relay says came and went (spec §5.9), from its second
// announcement on: the first one is the group as the user found it.
func (m *Model) onMembers(e client.GroupMembersEvent) {
	c := m.groupConv(e.Group)
	prev := c.announced
	c.announced = slices.Clone(e.Members)
	if prev == nil {
		return
	}
	if came := missing(e.Members, prev, m.me); len(came) > 0 {
		m.note(c, lineInfo, strings.Join(came, ", ")+" joined; waiting for the rekey that adds them")
	}
	if went := missing(prev, e.Members, m.me); len(went) > 0 {
		m.note(c, lineInfo, strings.Join(went, ", ")+" left; the group rekeys without them")
	}
}

// missing lists the names of a that b lacks, except me.
func missing(a, b []string, me string) []string {
	var out []string
	for _, u := range a {
		if u != me && !slices.Contains(b, u) {
			out = append(out, u)
		}
	}
	return out
}

// onEpoch reports a new group epoch: who can read what is sent from now on.
func (m *Model) onEpoch(e client.GroupEvent) {
	c := m.groupConv(e.Group)
	c.epoch, c.members, c.missing = e.Epoch, slices.Clone(e.Members), slices.Clone(e.Missing)
	m.note(c, lineInfo, fmt.Sprintf("%s epoch %d: messages are now encrypted for %s (committed by %s)",
		m.g.Lock, e.Epoch, strings.Join(e.Members, ", "), e.Committer))
}

// onGroupLeft reports the end of membership: by /leave, or because the connection ended (the
// library rejoins after reconnecting).
func (m *Model) onGroupLeft(e client.GroupLeftEvent) {
	c := m.groupConv(e.Group)
	c.epoch, c.members, c.announced, c.missing = 0, nil, nil, nil
	if c.joined {
		m.note(c, lineInfo, "out of "+c.title()+" while disconnected; its key is erased; rejoining after the reconnection")
	}
}

// message shows a message received in c.
func (m *Model) message(c *conv, from, text string) {
	c.add(line{at: m.opts.Now(), kind: lineMessage, from: from, text: display.Clean(text)})
	m.unread(c, false)
}

// note adds a notice to c, or, when c is nil (a notice that concerns no conversation), to the
// selected one.
func (m *Model) note(c *conv, kind lineKind, text string) {
	if c == nil {
		c = m.current()
	}
	c.add(line{at: m.opts.Now(), kind: kind, text: text})
	m.unread(c, kind == lineSecurity)
}

// unread marks c unread unless it is on screen.
func (m *Model) unread(c *conv, alert bool) {
	if c.key == m.sel {
		return
	}
	c.unread++
	c.alert = c.alert || alert
}
