package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/blindpost/blindpost/impl/client/display"
)

// stampWidth is the width of "15:04 " before each line of a conversation.
const stampWidth = 6

// paneLines renders a conversation at width w: each line wrapped under its timestamp.
func (m *Model) paneLines(c *conv, w int) []string {
	if len(c.lines) == 0 {
		return m.wrapStyled(m.emptyText(c), w, m.st.info)
	}
	var out []string
	for _, l := range c.lines {
		out = append(out, m.renderLine(l, w)...)
	}
	return out
}

// emptyText is what an empty conversation says.
func (m *Model) emptyText(c *conv) string {
	switch {
	case c.isGroup() && c.joined:
		return "No messages in " + c.title() + " yet. Messages here are end-to-end encrypted for the members of the current epoch."
	case c.isGroup():
		return c.title() + ": the group everyone can join. Its messages are end-to-end encrypted for its members; the relay cannot read them. Type /join (or press Enter) to join it."
	}
	return "No messages with " + c.peer + " yet. Press Enter to ask " + c.peer + " for an end-to-end encrypted chat. /help lists every command."
}

// renderLine renders one line of a conversation: "15:04 name: text", or a notice, wrapped
// with a hanging indent.
func (m *Model) renderLine(l line, w int) []string {
	stamp := m.st.timestamp.Render(l.at.Format("15:04")) + " "
	var body []string
	switch l.kind {
	case lineMessage, lineOwn:
		body = m.messageLines(l, w-stampWidth)
	case lineSecurity:
		body = m.wrapStyled(m.g.Warning+" "+l.text, w-stampWidth, m.st.security)
	default:
		body = m.wrapStyled(m.g.Notice+" "+l.text, w-stampWidth, m.st.info)
	}
	indent := strings.Repeat(" ", stampWidth)
	for i := range body {
		if i == 0 {
			body[i] = stamp + body[i]
		} else {
			body[i] = indent + body[i]
		}
	}
	return body
}

// messageLines wraps "name: text" and styles the name. Every line of the text after its first
// is shown behind the continuation mark, so that a line break in a peer's text cannot start a
// line that passes for someone else's message (spec §9 [CLI-30]).
func (m *Model) messageLines(l line, w int) []string {
	name := m.st.sender
	if l.kind == lineOwn {
		name = m.st.own
	}
	paras := strings.Split(l.text, "\n")
	lines := display.Wrap(l.from+": "+paras[0], w)
	if first, ok := strings.CutPrefix(lines[0], l.from+":"); ok {
		lines[0] = name.Render(l.from) + ":" + first
	}
	mark := m.st.continuation.Render(m.g.Continuation)
	pad := strings.Repeat(" ", display.Width(m.g.Continuation))
	for _, para := range paras[1:] {
		for i, part := range display.Wrap(para, w-display.Width(m.g.Continuation)) {
			if i == 0 {
				lines = append(lines, mark+part)
			} else {
				lines = append(lines, pad+part)
			}
		}
	}
	return m.withDelivery(lines, l.delivery, w)
}

// withDelivery puts the delivery mark after the last line of a message, or below it when it
// does not fit: a sent message always says how far it got (spec §6.7, §9 [CLI-21]).
func (m *Model) withDelivery(lines []string, d delivery, w int) []string {
	mark := m.deliveryMark(d)
	if mark == "" {
		return lines
	}
	last := len(lines) - 1
	if ansi.StringWidth(lines[last])+1+ansi.StringWidth(mark) <= w {
		lines[last] += " " + mark
		return lines
	}
	return append(lines, mark)
}

// wrapStyled wraps text to w cells and styles each line.
func (m *Model) wrapStyled(text string, w int, st lipgloss.Style) []string {
	lines := wrap(text, w)
	for i, l := range lines {
		lines[i] = st.Render(l)
	}
	return lines
}

// wrap breaks plain text into lines of at most w cells: at spaces when it can, inside words
// when it must, never inside a grapheme cluster, and at every line break of the text.
func wrap(text string, w int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		out = append(out, display.Wrap(para, w)...)
	}
	return out
}
