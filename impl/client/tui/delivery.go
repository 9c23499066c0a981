package tui

import (
	"fmt"
	"strings"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/display"
)

// delivery is how far a message this user sent got, as its line shows it (spec §6.7).
type delivery int

const (
	deliveryNone      delivery = iota // not a sent message, or history that recorded no state
	deliverySending                   // handed to the library; the relay has not answered yet
	deliveryRelayed                   // the relay acknowledged it; no receipt yet (a group's last state)
	deliveryDelivered                 // a receipt from the peer's client covers it (RCP-3)
	deliveryFailed                    // refused, or its session ended before a receipt (CLI-21)
)

// deliveryOf maps the library's state, or the history's, to a line's.
func deliveryOf(s client.DeliveryState) delivery {
	switch s {
	case client.DeliveryRelayed:
		return deliveryRelayed
	case client.DeliveryDelivered:
		return deliveryDelivered
	case client.DeliveryFailed:
		return deliveryFailed
	}
	return deliveryNone
}

// advance moves a state forward only: a final state (delivered, failed) never changes, and an
// answer that arrives late cannot take a line back to an earlier state.
func advance(cur, next delivery) delivery {
	if cur == deliveryDelivered || cur == deliveryFailed || next < cur {
		return cur
	}
	return next
}

// deliveryKey names a message sent in a 1:1 session.
type deliveryKey struct {
	sid client.SessionID
	n   uint64
}

// deliveryMark is what follows a sent message: never "delivered" without a receipt.
func (m *Model) deliveryMark(d delivery) string {
	switch d {
	case deliverySending:
		return m.st.info.Render("· sending" + m.g.Pending)
	case deliveryRelayed:
		return m.st.info.Render("· relayed")
	case deliveryDelivered:
		return m.st.info.Render("· " + m.g.Delivered + " delivered")
	case deliveryFailed:
		return m.st.security.Render("· " + m.g.Failed + " not delivered")
	}
	return ""
}

// pending adds the line of a message as it is handed to the library, and returns its id.
func (m *Model) pending(c *conv, text string) uint64 {
	m.lineID++
	c.add(line{at: m.opts.Now(), kind: lineOwn, from: m.me, text: display.Clean(text), id: m.lineID, delivery: deliverySending})
	return m.lineID
}

// onDelivery follows a message sent in a 1:1 session (spec §6.7 [RCP-3], §9 [CLI-21]). An
// event can arrive before the answer of Send that names its counter: it waits in m.early.
func (m *Model) onDelivery(e client.DeliveryEvent) {
	c := m.peerConv(e.Peer)
	k := deliveryKey{e.Session, e.N}
	l := c.sentLine(k)
	if l == nil {
		m.early[k] = advance(m.early[k], deliveryOf(e.State))
		return
	}
	m.setDelivery(c, l, deliveryOf(e.State))
}

// setDelivery moves the line l of c to state d; a failure points to /resend.
func (m *Model) setDelivery(c *conv, l *line, d delivery) {
	was := l.delivery
	l.delivery = advance(l.delivery, d)
	if l.delivery == deliveryFailed && was != deliveryFailed {
		m.resendHint(c)
	}
}

// resendHint says how many messages to the peer did not arrive and how to send them again
// (spec §9 [CLI-21]). Failures that come together share one notice, updated in place.
func (m *Model) resendHint(c *conv) {
	n := len(m.c.Outbox(c.peer)) + len(c.resend)
	if n == 0 {
		return
	}
	what := fmt.Sprintf("%d messages to %s were not delivered (marked %s); their text is kept", n, c.peer, m.g.Failed)
	if n == 1 {
		what = fmt.Sprintf("1 message to %s was not delivered (marked %s); its text is kept", c.peer, m.g.Failed)
	}
	how := ": /resend puts it back in the input line to send again"
	if c.state != client.SessionSecured {
		how = ": start a new chat with " + c.peer + " (Enter on an empty line), then /resend puts it back in the input line to send again"
	}
	if n > 1 {
		how = strings.Replace(how, "puts it back", "puts them back, one at a time,", 1)
	}
	if last := len(c.lines) - 1; last >= 0 && c.lines[last].hint {
		c.lines[last].text = what + how
		return
	}
	m.note(c, lineInfo, what+how) // the marks carry the failure; no rejection to report (CLI-2)
	c.lines[len(c.lines)-1].hint = true
}

// resendCommand is /resend: the oldest message to the selected peer that was not delivered
// goes back into the input line, to be sent again with Enter (spec §9 [CLI-21]).
func (m *Model) resendCommand(c *conv) {
	if c.isGroup() {
		m.note(c, lineInfo, "/resend sends again a 1:1 message that was not delivered; select the person in the list")
		return
	}
	for _, u := range m.c.TakeOutbox(c.peer) {
		c.resend = append(c.resend, u.Text)
	}
	if len(c.resend) == 0 {
		m.note(c, lineInfo, "no undelivered message to "+c.peer+" to send again")
		return
	}
	text := c.resend[0]
	c.resend = c.resend[1:]
	if strings.HasPrefix(text, "/") { // sent as a message, not run as a command
		text = "/" + text
	}
	m.input.SetValue(text)
	m.input.CursorEnd()
	s := "an undelivered message to " + c.peer + " is back in the input line: Enter sends it"
	if c.state != client.SessionSecured {
		s += " once a new session with " + c.peer + " is secured (Esc clears the line)"
	}
	if len(c.resend) > 0 {
		s += fmt.Sprintf("; %d more after it: /resend again", len(c.resend))
	}
	m.note(c, lineInfo, s)
}

// reasonText says in words why a session left the secured state, for the reasons the library
// names with a code (spec §5.5 [SES-3], §9 [CLI-20], [CLI-22]); ok is false for other reasons,
// which are already words.
func reasonText(reason, peer string) (string, bool) {
	switch reason {
	case client.ReasonPeerOffline:
		return peer + " went offline", true
	case client.ReasonPeerReplaced:
		return peer + " logged in elsewhere", true
	case client.ReasonReceiptsStalled:
		return "no delivery receipts from " + peer + ", who is offline", true
	}
	return "", false
}
