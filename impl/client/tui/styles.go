package tui

import (
	"charm.land/lipgloss/v2"
)

// styles holds every Lip Gloss style of the screen, in one place. Meaning never rests on colour
// alone: selection and the status line are in reverse video, and every marker is a character,
// so the screen reads the same on a terminal without colour.
type styles struct {
	header    lipgloss.Style
	selected  lipgloss.Style
	offline   lipgloss.Style
	separator lipgloss.Style
	timestamp lipgloss.Style
	sender    lipgloss.Style
	own       lipgloss.Style
	info      lipgloss.Style
	security  lipgloss.Style
	secured   lipgloss.Style
	insecure  lipgloss.Style
	status    lipgloss.Style
	helpTitle lipgloss.Style
	// continuation is the mark before a line of a message after its first.
	continuation lipgloss.Style
}

func defaultStyles() styles {
	return styles{
		header:    lipgloss.NewStyle().Bold(true),
		selected:  lipgloss.NewStyle().Reverse(true).Bold(true),
		offline:   lipgloss.NewStyle().Faint(true),
		separator: lipgloss.NewStyle().Faint(true),
		timestamp: lipgloss.NewStyle().Faint(true),
		sender:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("6")),
		own:       lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("4")),
		info:      lipgloss.NewStyle().Italic(true).Foreground(lipgloss.Color("8")),
		security:  lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
		secured:   lipgloss.NewStyle().Reverse(true).Bold(true).Foreground(lipgloss.Color("2")),
		insecure:  lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color("3")),
		status:    lipgloss.NewStyle().Reverse(true),
		helpTitle: lipgloss.NewStyle().Bold(true).Underline(true),
		// Faint, as the timestamp it stands in for: it is not part of the text.
		continuation: lipgloss.NewStyle().Faint(true),
	}
}

// Glyphs are the symbols of the screen. Each has a plain-text twin in ASCIIGlyphs for
// terminals or fonts without them; the words next to a glyph always carry the meaning too.
type Glyphs struct {
	Lock      string // before "secured" in the status line
	Selected  string // the selected entry of the list
	Unread    string // a conversation with unread messages
	Request   string // a conversation with a chat request waiting for an answer
	Alert     string // a conversation with an unread security notice
	Separator string // between the list and the conversation
	Notice    string // before an informational notice
	Warning   string // before a security notice
	Ellipsis  string // the end of a truncated name
	// Continuation marks each line of a message after its first (spec §9 [CLI-30]).
	Continuation string
	Pending      string // after "sending": the relay has not answered yet
	Delivered    string // before "delivered": a receipt covers the message (spec §6.7)
	Failed       string // before "not delivered", and in the notice that offers /resend
}

// UnicodeGlyphs are the default glyphs. The padlock is two cells wide on every terminal that
// renders it; the layout counts it so.
var UnicodeGlyphs = Glyphs{
	Lock: "🔒", Selected: "›", Unread: "●", Request: "?", Alert: "!", Separator: "│",
	Notice: "--", Warning: "!!", Ellipsis: "…", Continuation: "↳ ",
	Pending: "…", Delivered: "✓", Failed: "✗",
}

// ASCIIGlyphs replace every glyph with plain ASCII.
var ASCIIGlyphs = Glyphs{
	Lock: "[E2E]", Selected: ">", Unread: "*", Request: "?", Alert: "!", Separator: "|",
	Notice: "--", Warning: "!!", Ellipsis: "~", Continuation: "| ",
	Pending: "...", Delivered: "+", Failed: "x",
}
