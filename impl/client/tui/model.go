package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/history"
)

// Default sizes, used until the terminal reports its own.
const (
	defaultWidth  = 80
	defaultHeight = 24
)

// opTimeout bounds every call the UI makes to the library.
const opTimeout = 30 * time.Second

// Options configures the terminal UI.
type Options struct {
	// Server is the relay's address, shown in the header.
	Server string
	// JoinBroadcast joins the broadcast group when the UI starts.
	JoinBroadcast bool
	// ASCII replaces the glyphs (the padlock among them) with plain text.
	ASCII bool
	// Verified keeps the safety numbers the user marked verified; nil keeps them in memory.
	Verified *Verifications
	// Now is the clock of the timestamps; nil means time.Now. Tests freeze it.
	Now func() time.Time
	// History, when set, is the encrypted local history: conversations start with what it holds.
	History *history.Store
}

// Model is the Bubble Tea model of `blindpost chat`: the list of conversations, the selected
// conversation, the input line and the status line. Create it with New.
type Model struct {
	c        Client
	ctx      context.Context
	opts     Options
	st       styles
	g        Glyphs
	me       string
	verified *Verifications

	convs  map[string]*conv
	past   past // the history read when the model started, by conversation key
	online []string
	sel    string // the key of the selected conversation

	input         textinput.Model
	vp            viewport.Model
	width, height int
	help          bool

	conn conn

	shownSafety  map[string]string // peer → pinned fingerprint whose safety number was shown
	pendingTrust map[string]string // peer → served fingerprint shown with the /trust warning
	quitting     bool
	ticking      bool // a countdown tick is pending

	lineID uint64                   // the id of the last message sent in this run
	early  map[deliveryKey]delivery // delivery events that came before Send named the counter

	listen func() tea.Cmd              // reads the next event; tests replace it
	after  func(time.Duration) tea.Cmd // a tick after a delay; tests replace it
}

// conn is what the UI knows of the connection to the relay (spec §9 [CLI-3]).
type conn struct {
	state    client.ConnState
	attempt  int
	deadline time.Time // reconnecting: when the next attempt starts
	code     int       // disconnected: the close code
	reason   string
	final    bool
}

// tickMsg refreshes the reconnection countdown.
type tickMsg struct{}

// New returns the model for c. The context bounds every call to the library.
func New(ctx context.Context, c Client, opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Verified == nil {
		opts.Verified = NewVerifications()
	}
	m := &Model{
		c: c, ctx: ctx, opts: opts, st: defaultStyles(), g: UnicodeGlyphs, me: c.User(),
		verified: opts.Verified, convs: map[string]*conv{}, sel: broadcastKey,
		width: defaultWidth, height: defaultHeight, conn: conn{state: client.Disconnected},
		shownSafety: map[string]string{}, pendingTrust: map[string]string{}, early: map[deliveryKey]delivery{},
		past: readPast(opts.History),
	}
	if opts.ASCII {
		m.g = ASCIIGlyphs
	}
	m.groupConv(client.Broadcast)
	m.input = newInput()
	m.vp = viewport.New()
	m.listen = func() tea.Cmd { return waitEvent(c.Events()) }
	m.after = func(d time.Duration) tea.Cmd {
		return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{} })
	}
	m.layout()
	return m
}

// newInput returns the input line: a real terminal cursor, so nothing blinks.
func newInput() textinput.Model {
	ti := textinput.New()
	ti.Prompt = "> "
	ti.Placeholder = "message · Enter on a name to chat · /help"
	ti.CharLimit = 4096 // schemas/e2e/content.json
	ti.SetVirtualCursor(false)
	s := ti.Styles()
	s.Cursor.Blink = false
	ti.SetStyles(s)
	ti.Focus()
	return ti
}

// Init starts reading events and, if asked, joins the broadcast group.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.listen()}
	if m.opts.JoinBroadcast {
		cmds = append(cmds, m.joinCmd(client.Broadcast))
	}
	return tea.Batch(cmds...)
}

// Update handles a key press, a resize, an event of the library or the answer of a call.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	m.refresh(false)
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case tea.PasteMsg:
		return m.updateInput(msg)
	case eventMsg:
		return tea.Batch(m.listen(), m.handleEvent(msg.ev))
	case eventsClosedMsg:
		return m.eventsClosed()
	case tickMsg:
		m.ticking = false
		return m.countdown()
	case quitReadyMsg:
		return tea.Quit
	case resultMsg:
		return msg(m)
	}
	return nil
}

// countdown ticks every second while a reconnection waits, so that the status line counts
// down; at most one tick is pending.
func (m *Model) countdown() tea.Cmd {
	if m.ticking || m.conn.state != client.Reconnecting || !m.opts.Now().Before(m.conn.deadline) {
		return nil
	}
	m.ticking = true
	return m.after(time.Second)
}

// eventsClosed handles the end of the library's events: the client stopped for good.
func (m *Model) eventsClosed() tea.Cmd {
	if m.quitting {
		return tea.Quit
	}
	m.conn.state, m.conn.final = client.Disconnected, true
	m.note(nil, lineInfo, "the client stopped; press Ctrl-C to quit")
	return nil
}

// layout sizes the input and the viewport to the terminal.
func (m *Model) layout() {
	l := m.geometry()
	m.input.SetWidth(max(l.width-len(m.input.Prompt)-1, 1))
	m.vp.SetWidth(l.paneWidth)
	m.vp.SetHeight(l.bodyHeight)
	m.refresh(true)
}
