package tui

import (
	"slices"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/client"
)

// maxLines bounds the history kept per conversation.
const maxLines = 2000

// lineKind says how a line of a conversation is shown.
type lineKind int

const (
	lineMessage  lineKind = iota // a message from a peer or group member
	lineOwn                      // a message this user sent
	lineInfo                     // a notice: session changes, pins, hints
	lineSecurity                 // a security notice: a rejection (CLI-2), a key change
)

// line is one entry of a conversation: a message or a notice. Text is kept in memory only,
// never logged (spec §9 [CLI-4]).
type line struct {
	at   time.Time
	kind lineKind
	from string
	text string

	// A message this user sent: its id in this run, its session and counter once Send named
	// them (zero for a group), and how far it got (spec §6.7).
	id       uint64
	sid      client.SessionID
	n        uint64
	delivery delivery
	hint     bool // the notice that counts undelivered messages, updated in place
}

// conv is one entry of the list: a group, or a peer with the current 1:1 session.
type conv struct {
	key    string // groupKey(name) for groups, the username for peers
	group  string // the group name; empty for a peer
	peer   string // the username; empty for a group
	lines  []line
	unread int
	alert  bool // an unread security notice

	// A peer: its current session (the last one requested or accepted), and a request that
	// waits for this user's answer.
	sid         client.SessionID
	state       client.SessionState // empty: no session yet
	fingerprint string              // the peer's pinned key that secured the session
	reason      string              // why the session ended or failed
	incoming    client.SessionID    // zero: no request waiting
	keyChanged  bool                // the relay served a key that differs from the pin
	resend      []string            // undelivered texts taken by /resend, not yet back in the input

	// A group: joined (a join was asked and no leave since), the epoch held and its members.
	joined    bool
	epoch     uint64
	members   []string // the members of the epoch held
	announced []string // the members the relay announced last
	// missing are the other members of the epoch that have not shown they hold it (spec §7.3):
	// until it is empty the group is secured only with the others [CLI-31].
	missing []string
}

// sentLine returns the line of the message sent as k, or nil.
func (c *conv) sentLine(k deliveryKey) *line {
	for i := len(c.lines) - 1; i >= 0; i-- {
		if l := &c.lines[i]; l.id != 0 && l.sid == k.sid && l.n == k.n && !l.sid.IsZero() {
			return l
		}
	}
	return nil
}

// lineByID returns the line of the message with id, or nil.
func (c *conv) lineByID(id uint64) *line {
	for i := len(c.lines) - 1; i >= 0; i-- {
		if c.lines[i].id == id {
			return &c.lines[i]
		}
	}
	return nil
}

// drop removes the line of the message with id: it was never sent.
func (c *conv) drop(id uint64) {
	c.lines = slices.DeleteFunc(c.lines, func(l line) bool { return l.id == id })
}

// groupKey is the list key of a group; usernames never start with '#'.
func groupKey(name string) string { return "#" + name }

// broadcastKey is the key of the Broadcast entry, always first in the list.
var broadcastKey = groupKey(client.Broadcast)

// isGroup reports whether the conversation is a group.
func (c *conv) isGroup() bool { return c.group != "" }

// title is the name of the conversation in the list and the status line.
func (c *conv) title() string {
	switch {
	case c.group == client.Broadcast:
		return "Broadcast"
	case c.isGroup():
		return "#" + c.group
	}
	return c.peer
}

// hasRequest reports whether a chat request waits for this user's answer.
func (c *conv) hasRequest() bool { return !c.incoming.IsZero() }

// live reports whether the peer conversation has a session that has not ended.
func (c *conv) live() bool { return c.state != "" && !c.state.Ended() }

// add appends a line, dropping the oldest beyond maxLines.
func (c *conv) add(l line) {
	c.lines = append(c.lines, l)
	if len(c.lines) > maxLines {
		c.lines = slices.Delete(c.lines, 0, len(c.lines)-maxLines)
	}
}

// conversation returns the conversation of key, creating it.
func (m *Model) conversation(key string) *conv {
	c, ok := m.convs[key]
	if !ok {
		c = newConv(key)
		c.lines = m.past.take(key) // spec §9 [CLI-24]: the conversation as it was before this run
		m.convs[key] = c
	}
	return c
}

// lookup returns the conversation of key, or an empty one that is not kept: for rendering.
func (m *Model) lookup(key string) *conv {
	if c, ok := m.convs[key]; ok {
		return c
	}
	return newConv(key)
}

// newConv returns an empty conversation for key.
func newConv(key string) *conv {
	c := &conv{key: key}
	if name, ok := strings.CutPrefix(key, "#"); ok {
		c.group = name
	} else {
		c.peer = key
	}
	return c
}

// peerConv returns the conversation with peer, creating it.
func (m *Model) peerConv(peer string) *conv { return m.conversation(peer) }

// groupConv returns the conversation of a group, creating it.
func (m *Model) groupConv(name string) *conv { return m.conversation(groupKey(name)) }

// current returns the selected conversation.
func (m *Model) current() *conv { return m.conversation(m.sel) }

// entries lists the keys of the list in order: Broadcast, the other groups, then the peers
// online or with a conversation, by name.
func (m *Model) entries() []string {
	var groups, peers []string
	seen := map[string]bool{}
	for key, c := range m.convs {
		switch {
		case key == broadcastKey:
		case c.isGroup():
			groups = append(groups, key)
		case c.peer != m.me && (len(c.lines) > 0 || c.state != "" || c.hasRequest() || key == m.sel):
			peers = append(peers, key)
			seen[key] = true
		}
	}
	for _, u := range m.online {
		if u != m.me && !seen[u] {
			peers = append(peers, u)
			seen[u] = true
		}
	}
	slices.Sort(groups)
	slices.Sort(peers)
	return append(append([]string{broadcastKey}, groups...), peers...)
}

// isOnline reports whether peer is in the last online list.
func (m *Model) isOnline(peer string) bool { return slices.Contains(m.online, peer) }
