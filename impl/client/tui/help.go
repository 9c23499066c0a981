package tui

import "strings"

// helpEntry is one line of the help: keys or a command, and what it does.
type helpEntry struct{ keys, what string }

// helpSections list every key and command of the screen.
var helpSections = []struct {
	title   string
	entries []helpEntry
}{
	{"Keys", []helpEntry{
		{"Tab, Shift-Tab", "move in the list (also Up, Down when the input is empty)"},
		{"Enter", "send what you typed; on an empty line, ask the selected person for a chat (or join the group)"},
		{"a, d", "accept or decline the selected chat request (empty input)"},
		{"PgUp, PgDn", "scroll the conversation"},
		{"F1, Esc", "open and close this help"},
		{"Ctrl-C", "end every session with a close record and quit"},
	}},
	{"Commands", []helpEntry{
		{"/accept, /decline", "answer the selected chat request"},
		{"/chat NAME", "ask NAME for an end-to-end encrypted chat"},
		{"/end", "end the session: an encrypted close record, then the relay is told; keys are erased"},
		{"/verify", "show the safety number with the selected person, to compare in person or on a call"},
		{"/verify ok", "mark it verified once both of you see the same digits"},
		{"/trust NAME", "after NAME's key changed: show the old and new keys and what trusting means"},
		{"/trust NAME yes", "trust the new key, only after NAME confirmed it out of band"},
		{"/whoami", "your own fingerprint, for a peer who checks a new key of yours"},
		{"/join [GROUP]", "join the broadcast group (or GROUP)"},
		{"/leave [GROUP]", "leave it; the others rekey without you"},
		{"/resend", "put a message that was not delivered back in the input line, to send it again"},
		{"//text", "send a message that starts with a slash"},
		{"/help, /quit", "this help; quit like Ctrl-C"},
	}},
	{"Status line", []helpEntry{
		{"secured with NAME", "end-to-end encrypted to NAME's pinned key; the relay cannot read it"},
		{"not verified", "you have not compared safety numbers yet: /verify"},
		{"not secured", "nothing you type is sent until a session is secured"},
		{"ended (unverified)", "the session was cut without an encrypted close: maybe not by NAME"},
		{"!! notices", "security events: a check of the protocol rejected something"},
	}},
	{"After your messages", []helpEntry{
		{"sending", "not yet accepted by the relay"},
		{"relayed", "the relay has it; not yet confirmed by the peer (a group message stays so)"},
		{"delivered", "the peer's client confirmed it with an encrypted receipt"},
		{"not delivered", "it did not arrive: the session ended first, or the relay refused it; /resend"},
	}},
}

// helpLines renders the help at width w, each description wrapped beside its keys.
func (m *Model) helpLines(w int) []string {
	keyWidth := min(20, max(w/3, 8))
	descWidth := max(w-keyWidth-2, 8)
	out := []string{m.st.helpTitle.Render("Help") + " · Esc or F1 closes it · PgUp/PgDn scroll"}
	for _, s := range helpSections {
		out = append(out, "", m.st.helpTitle.Render(s.title))
		for _, e := range s.entries {
			out = append(out, helpEntryLines(e, keyWidth, descWidth)...)
		}
	}
	return out
}

// helpEntryLines lays out one entry: the keys in a column, the description wrapped beside it.
func helpEntryLines(e helpEntry, keyWidth, descWidth int) []string {
	keys := wrap(e.keys, keyWidth)
	desc := wrap(e.what, descWidth)
	n := max(len(keys), len(desc))
	out := make([]string, n)
	for i := range out {
		k, d := "", ""
		if i < len(keys) {
			k = keys[i]
		}
		if i < len(desc) {
			d = desc[i]
		}
		out[i] = strings.TrimRight(fit(k, keyWidth)+"  "+d, " ")
	}
	return out
}
