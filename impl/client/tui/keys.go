package tui

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client/display"
)

// handleKey handles one key press: navigation and the bindings of the help first, then the
// input line.
func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		return m.quit()
	}
	if m.quitting {
		return nil
	}
	if cmd, ok := m.bindings(k); ok {
		return cmd
	}
	if m.input.Value() == "" {
		if cmd, ok := m.emptyInputBindings(k); ok {
			return cmd
		}
	}
	return m.updateInput(k)
}

// bindings are the keys that act whatever the input holds.
func (m *Model) bindings(k tea.KeyPressMsg) (tea.Cmd, bool) {
	switch k.String() {
	case "f1":
		m.setHelp(!m.help)
	case "esc":
		if m.help {
			m.setHelp(false)
		} else {
			m.input.Reset()
		}
	case "tab":
		m.move(1)
	case "shift+tab":
		m.move(-1)
	case "pgup":
		m.vp.PageUp()
	case "pgdown":
		m.vp.PageDown()
	case "enter":
		return m.submit(), true
	default:
		return nil, false
	}
	return nil, true
}

// emptyInputBindings are the keys that act only while nothing is typed.
func (m *Model) emptyInputBindings(k tea.KeyPressMsg) (tea.Cmd, bool) {
	c := m.current()
	switch k.String() {
	case "up":
		m.move(-1)
	case "down":
		m.move(1)
	case "a":
		if !c.hasRequest() {
			return nil, false
		}
		return m.acceptCmd(c), true
	case "d":
		if !c.hasRequest() {
			return nil, false
		}
		return m.declineCmd(c), true
	default:
		return nil, false
	}
	return nil, true
}

// updateInput passes a key or a paste to the input line.
func (m *Model) updateInput(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// move selects the entry delta places away in the list, wrapping around, and marks it read.
func (m *Model) move(delta int) {
	keys := m.entries()
	i := slices.Index(keys, m.sel)
	i = ((i+delta)%len(keys) + len(keys)) % len(keys)
	m.selectKey(keys[i])
}

// selectKey shows the conversation of key.
func (m *Model) selectKey(key string) {
	m.sel = key
	c := m.current()
	c.unread, c.alert = 0, false
	m.help = false
	m.refresh(true)
}

// setHelp opens or closes the help in the conversation pane.
func (m *Model) setHelp(on bool) {
	m.help = on
	m.refresh(true)
	if on {
		m.vp.GotoTop()
	}
}

// submit handles Enter: a command, a message, or, on an empty line, the selected entry's
// default action.
func (m *Model) submit() tea.Cmd {
	raw := m.input.Value()
	m.input.Reset()
	switch {
	case strings.TrimSpace(raw) == "":
		return m.activate()
	case strings.HasPrefix(raw, "//"): // a message that starts with a slash
		return m.sendCmd(m.current(), raw[1:], raw)
	case strings.HasPrefix(raw, "/"):
		return m.command(raw)
	}
	return m.sendCmd(m.current(), raw, raw)
}

// keep puts back what the user typed when it could not be sent, so that nothing typed is lost:
// in the input line when it is still empty, else in a notice to copy it from.
func (m *Model) keep(c *conv, typed string) {
	if m.input.Value() == "" {
		m.input.SetValue(typed)
		m.input.CursorEnd()
		return
	}
	m.note(c, lineInfo, "your unsent text: "+display.Line(typed))
}

// activate is Enter on an empty line: join a group, or ask a peer for a chat.
func (m *Model) activate() tea.Cmd {
	c := m.current()
	switch {
	case c.isGroup() && !c.joined:
		return m.joinCmd(c.group)
	case c.isGroup():
		m.note(c, lineInfo, "type a message and press Enter to send it to the group")
	case c.hasRequest():
		m.note(c, lineInfo, c.peer+" asks for a chat: /accept (a) or /decline (d)")
	case c.live():
		m.note(c, lineInfo, "the session with "+c.peer+" is "+string(c.state)+"; type a message, or /end it")
	default:
		return m.chatCmd(c.peer)
	}
	return nil
}
