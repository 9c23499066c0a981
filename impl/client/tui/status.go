package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/blindpost/blindpost/impl/client"
)

// statusLine renders the status line: whether the selected conversation is end-to-end secured
// and with whom (spec §9 [CLI-1]), and the connection (CLI-3). Each part comes in variants from
// the most to the least detailed; the most detailed pair that fits the width is shown.
func (m *Model) statusLine(w int) string {
	secured, lefts := m.securityStatus(m.lookup(m.sel))
	conns := m.connStatus()
	left, right := pick(lefts, conns, w-3)
	st := m.st.insecure
	if secured {
		st = m.st.secured
	}
	right = " " + right + " "
	leftWidth := max(w-ansi.StringWidth(right), 0)
	return st.Render(fit(" "+truncate(left, max(leftWidth-1, 0), m.g.Ellipsis), leftWidth)) + m.st.status.Render(fit(right, w-leftWidth))
}

// pick chooses the most detailed pair of variants that fits in w cells, giving up detail on
// both sides evenly and keeping the right side's at a tie; else the shortest of each.
func pick(lefts, rights []string, w int) (string, string) {
	for total := 0; total < len(lefts)+len(rights)-1; total++ {
		for j := 0; j <= total && j < len(rights); j++ {
			if i := total - j; i < len(lefts) && ansi.StringWidth(lefts[i])+ansi.StringWidth(rights[j]) <= w {
				return lefts[i], rights[j]
			}
		}
	}
	return lefts[len(lefts)-1], rights[len(rights)-1]
}

// securityStatus says whether c is end-to-end secured (spec §9 [CLI-1]), in variants.
func (m *Model) securityStatus(c *conv) (bool, []string) {
	if c.isGroup() {
		return m.groupStatus(c)
	}
	p := c.peer
	why, coded := reasonText(c.reason, p)
	switch {
	case c.hasRequest():
		return false, []string{p + " asks to chat: /accept (a) or /decline (d) · not secured", p + " asks to chat: a or d · not secured", "request: a or d · not secured"}
	case c.state == client.SessionSecured:
		return true, m.securedStatus(c)
	case c.keyChanged && !c.live():
		return false, []string{"not secured · " + p + "'s key changed: blocked until /trust " + p, "not secured · key changed: /trust " + p, "key changed: /trust"}
	case c.state == client.SessionRequested:
		return false, []string{"not secured · waiting for " + p + " to accept…", "not secured · waiting for " + p + "…", "not secured · waiting…"}
	case c.state == client.SessionHandshaking:
		return false, []string{"handshaking with " + p + "… · not secured yet", "handshaking… · not secured yet", "handshaking…"}
	case c.state.Ended() && coded: // spec §9 [CLI-20]: why it is not secured any more
		return false, []string{"ended: " + why + " · not secured · Enter for a new chat", "ended: " + why + " · not secured", "ended · not secured"}
	case c.state == client.SessionEndedUnverified:
		return false, []string{"ended (unverified) · not secured · Enter for a new chat", "ended (unverified) · not secured"}
	case c.state.Ended():
		return false, []string{string(c.state) + " · not secured · Enter for a new chat", string(c.state) + " · not secured"}
	case !m.isOnline(p):
		return false, []string{"not secured · " + p + " is offline", "not secured · offline", "not secured"}
	}
	return false, []string{"not secured · Enter to ask " + p + " for an encrypted chat", "not secured · Enter to chat", "not secured"}
}

// securedStatus names the peer, its pinned key and whether the user verified the safety number.
func (m *Model) securedStatus(c *conv) []string {
	lock, p := m.g.Lock+" secured with ", c.peer
	v, short := "safety number not verified", "not verified"
	if m.verified.IsVerified(p, c.fingerprint) {
		v, short = "safety number verified", "verified"
	}
	return []string{
		lock + p + " (" + shortFP(c.fingerprint) + ") · " + v,
		lock + p + " · " + v,
		lock + p + " · " + short,
		lock + truncate(p, 12, m.g.Ellipsis) + " · " + short,
		lock + truncate(p, 12, m.g.Ellipsis),
	}
}

// groupStatus says whether the group is keyed for the user and for whom.
func (m *Model) groupStatus(c *conv) (bool, []string) {
	t := c.title()
	switch {
	case !c.joined:
		return false, []string{t + ": not joined · not secured · /join or Enter to join", "not joined · /join", "not joined"}
	case c.epoch == 0 || !slices.Contains(c.members, m.me):
		return false, []string{"joining " + t + "… · not secured yet", "joining… · not secured yet", "joining…"}
	}
	others := slices.DeleteFunc(slices.Clone(c.members), func(u string) bool { return u == m.me })
	if len(c.missing) > 0 { // spec §9 [CLI-31]: only with those who showed they hold the epoch
		with := slices.DeleteFunc(slices.Clone(others), func(u string) bool { return slices.Contains(c.missing, u) })
		of := fmt.Sprintf("%d of %d", len(with), len(others))
		wait := "waiting for " + strings.Join(c.missing, ", ")
		vs := []string{"secured with " + of + " · " + wait + " to confirm epoch " + fmt.Sprint(c.epoch), "secured with " + of + " · " + wait, "secured with " + of}
		if len(with) > 0 {
			vs = append([]string{"secured with " + strings.Join(with, ", ") + " (" + of + ") · " + wait + " to confirm epoch " + fmt.Sprint(c.epoch)}, vs...)
		}
		return false, vs
	}
	lock := m.g.Lock + " secured"
	n := fmt.Sprintf("%d members", len(c.members))
	vs := []string{}
	if len(others) > 0 {
		vs = append(vs, lock+" with "+strings.Join(others, ", ")+" · epoch "+fmt.Sprint(c.epoch))
	} else {
		vs = append(vs, lock+" · only you · epoch "+fmt.Sprint(c.epoch))
	}
	return true, append(vs, lock+" for "+n+" · epoch "+fmt.Sprint(c.epoch), lock+" · "+n)
}

// connStatus describes the connection to the relay (spec §9 [CLI-3]), in variants.
func (m *Model) connStatus() []string {
	c := m.conn
	switch {
	case m.quitting:
		return []string{"closing…"}
	case c.state == client.Connected:
		return []string{"connected"}
	case c.state == client.Reconnecting:
		left := roundSeconds(max(c.deadline.Sub(m.opts.Now()), 0))
		if !m.opts.Now().Before(c.deadline) {
			return []string{fmt.Sprintf("reconnecting (attempt %d)", c.attempt), "reconnecting"}
		}
		return []string{fmt.Sprintf("reconnecting in %s (attempt %d)", left, c.attempt), "reconnecting in " + left}
	}
	if c.code == 0 && !c.final {
		return []string{"connecting…"}
	}
	s := fmt.Sprintf("disconnected: %d", c.code)
	if c.reason != "" {
		return []string{s + " " + c.reason, s}
	}
	return []string{s}
}
