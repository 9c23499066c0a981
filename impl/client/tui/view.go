package tui

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// geom is the layout of the screen for a terminal size.
type geom struct {
	width, height int
	listWidth     int // the list, left
	paneWidth     int // the conversation, right of the separator and a space
	bodyHeight    int // between the header and the status line
}

// geometry lays the screen out: a header, the list and the conversation side by side, the
// status line and the input line.
func (m *Model) geometry() geom {
	w, h := max(m.width, 24), max(m.height, 6)
	lw := min(max(w/4, 12), 26)
	return geom{width: w, height: h, listWidth: lw, paneWidth: w - lw - 2, bodyHeight: h - 3}
}

// View renders the whole screen.
func (m *Model) View() tea.View {
	g := m.geometry()
	rows := make([]string, 0, g.height)
	rows = append(rows, m.headerLine(g.width))
	rows = append(rows, m.bodyLines(g)...)
	rows = append(rows, m.statusLine(g.width), m.inputLine(g.width))
	v := tea.NewView(strings.Join(rows, "\n"))
	v.AltScreen = true
	v.WindowTitle = "blindpost · " + m.me
	if cur := m.input.Cursor(); cur != nil && !m.quitting {
		cur.Position.Y = g.height - 1
		v.Cursor = cur
	}
	return v
}

// headerLine names the user and the selected conversation.
func (m *Model) headerLine(w int) string {
	left := " blindpost · " + m.me
	if m.opts.Server != "" {
		left += " · " + m.opts.Server
	}
	right := m.lookup(m.sel).title() + " "
	if w-ansi.StringWidth(right) < ansi.StringWidth(left)+2 {
		return m.st.header.Render(fit(left, w))
	}
	return m.st.header.Render(fit(left, w-ansi.StringWidth(right)) + right)
}

// bodyLines puts the list and the conversation side by side.
func (m *Model) bodyLines(g geom) []string {
	list := m.listLines(g)
	pane := strings.Split(m.vp.View(), "\n")
	sep := m.st.separator.Render(m.g.Separator)
	rows := make([]string, g.bodyHeight)
	for i := range rows {
		p := ""
		if i < len(pane) {
			p = pane[i]
		}
		rows[i] = list[i] + sep + " " + fit(p, g.paneWidth)
	}
	return rows
}

// listLines renders the list: Broadcast first, the selected entry highlighted, scrolled so
// that the selection is visible.
func (m *Model) listLines(g geom) []string {
	keys := m.entries()
	start := 0
	if i := slices.Index(keys, m.sel); i >= g.bodyHeight {
		start = i - g.bodyHeight + 1
	}
	rows := make([]string, g.bodyHeight)
	for i := range rows {
		if start+i < len(keys) {
			rows[i] = m.entryLine(keys[start+i], g.listWidth)
		} else {
			rows[i] = strings.Repeat(" ", g.listWidth)
		}
	}
	return rows
}

// entryLine renders one entry: the selection mark, the name and one marker (a request, an
// unread security notice, or unread messages).
func (m *Model) entryLine(key string, w int) string {
	c := m.lookup(key)
	sel := " "
	if key == m.sel {
		sel = m.g.Selected
	}
	nameWidth := max(w-4, 1)
	name := fit(truncate(c.title(), nameWidth, m.g.Ellipsis), nameWidth)
	row := sel + " " + name + " " + m.marker(c)
	switch {
	case key == m.sel:
		return m.st.selected.Render(row)
	case !c.isGroup() && !m.isOnline(c.peer):
		return m.st.offline.Render(row)
	}
	return row
}

// marker is the one-cell marker of an entry.
func (m *Model) marker(c *conv) string {
	switch {
	case c.hasRequest():
		return m.g.Request
	case c.alert:
		return m.g.Alert
	case c.unread > 0:
		return m.g.Unread
	}
	return " "
}

// inputLine renders the input line.
func (m *Model) inputLine(w int) string {
	if m.quitting {
		return fit(" ending sessions with close records and closing…", w)
	}
	return fit(m.input.View(), w)
}

// refresh puts the selected conversation, or the help, in the viewport; it follows the end of
// the conversation unless the user scrolled up.
func (m *Model) refresh(bottom bool) {
	follow := bottom || m.vp.AtBottom()
	if m.help {
		m.vp.SetContentLines(m.helpLines(m.vp.Width()))
		return
	}
	m.vp.SetContentLines(m.paneLines(m.current(), m.vp.Width()))
	if follow {
		m.vp.GotoBottom()
	}
}

// fit pads or truncates a rendered string to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-n)
}

// truncate shortens plain text to w cells, ending with tail when it was cut.
func truncate(s string, w int, tail string) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, tail)
}
