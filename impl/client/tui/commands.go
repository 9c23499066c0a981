package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// command runs a slash command typed on the input line.
func (m *Model) command(line string) tea.Cmd {
	fields := strings.Fields(line)
	name, args := fields[0], fields[1:]
	c := m.current()
	switch name {
	case "/help", "/?":
		m.setHelp(!m.help)
	case "/quit", "/exit":
		return m.quit()
	case "/accept", "/decline":
		return m.answer(c, name == "/accept")
	case "/chat":
		return m.chatCommand(args)
	case "/end":
		return m.endCmd(c)
	case "/verify":
		return m.verifyCommand(c, args)
	case "/trust":
		return m.trustCommand(c, args)
	case "/resend":
		m.resendCommand(c)
	case "/whoami":
		m.note(c, lineInfo, "you are "+m.me+"; your key's fingerprint, for your peers to compare:\n"+groupFP(m.c.Fingerprint()))
	case "/join":
		return m.joinCmd(groupArg(c, args))
	case "/leave":
		return m.leaveCmd(groupArg(c, args))
	default:
		m.note(c, lineInfo, fmt.Sprintf("unknown command %s; /help lists them", sanitize(name)))
	}
	return nil
}

// groupArg is the group a /join or /leave names: the argument, else the selected group, else
// the broadcast group.
func groupArg(c *conv, args []string) string {
	switch {
	case len(args) > 0:
		return strings.TrimPrefix(args[0], "#")
	case c.isGroup():
		return c.group
	}
	return client.Broadcast
}

// answer accepts or declines the request of the selected conversation.
func (m *Model) answer(c *conv, accept bool) tea.Cmd {
	if !c.hasRequest() {
		m.note(c, lineInfo, "no chat request to answer here; a ? in the list marks one")
		return nil
	}
	if accept {
		return m.acceptCmd(c)
	}
	return m.declineCmd(c)
}

// chatCommand is /chat NAME: select NAME and ask for a chat.
func (m *Model) chatCommand(args []string) tea.Cmd {
	if len(args) != 1 || !trust.ValidUsername(args[0]) || args[0] == m.me {
		m.note(m.current(), lineInfo, "usage: /chat NAME (another user's name)")
		return nil
	}
	m.selectKey(args[0])
	return m.activate()
}

// verifyCommand is /verify (show the safety number) and /verify ok (mark it verified).
func (m *Model) verifyCommand(c *conv, args []string) tea.Cmd {
	if c.isGroup() {
		m.note(c, lineInfo, "safety numbers are per person: select a member in the list, then /verify")
		return nil
	}
	if len(args) == 1 && args[0] == "ok" {
		m.markVerified(c)
		return nil
	}
	return m.safetyCmd(c.peer)
}

// markVerified records that the user compared the safety number shown for the peer's current
// pin (spec §6.6 [TRUST-4]).
func (m *Model) markVerified(c *conv) {
	shown, ok := m.shownSafety[c.peer]
	pinned, pinOK := m.c.PinnedFingerprint(c.peer)
	if !ok || !pinOK || shown != pinned {
		m.note(c, lineInfo, "first show the safety number with /verify and compare it with "+c.peer)
		return
	}
	if err := m.verified.Mark(c.peer, pinned); err != nil {
		m.note(c, lineSecurity, "could not record the verification: "+err.Error())
		return
	}
	m.note(c, lineInfo, fmt.Sprintf("safety number with %s marked verified (key %s); it stays verified until %s's key changes",
		c.peer, shortFP(pinned), c.peer))
}

// trustCommand is /trust NAME (show the key change and what trusting means) and /trust NAME yes
// (trust the key shown: spec §6.6 [TRUST-2]).
func (m *Model) trustCommand(c *conv, args []string) tea.Cmd {
	peer := c.peer
	if len(args) > 0 {
		peer = args[0]
	}
	if peer == "" || !trust.ValidUsername(peer) || peer == m.me {
		m.note(c, lineInfo, "usage: /trust NAME, after NAME's key changed")
		return nil
	}
	if len(args) == 2 && args[1] == "yes" {
		served, ok := m.pendingTrust[peer]
		if !ok {
			m.note(c, lineInfo, "first run /trust "+peer+" to see the new key and what trusting it means")
			return nil
		}
		delete(m.pendingTrust, peer)
		return m.trustCmd(peer, served)
	}
	return m.trustCheckCmd(peer)
}
