package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/blindpost/blindpost/impl/client/wiretap"
	"github.com/blindpost/blindpost/impl/wire"
)

// Column widths of the side-by-side output.
const (
	leftWidth  = 44
	rightWidth = 70
)

// step is one scene of the demo: what the clients saw, and what crossed the relay meanwhile.
type step struct {
	title  string
	client []string
	relay  []string
}

// render prints steps as two columns.
func render(w io.Writer, steps []step) {
	rule := strings.Repeat("─", leftWidth+1) + "┼" + strings.Repeat("─", rightWidth+1)
	fmt.Fprintf(w, " %-*s │ %s\n", leftWidth-1, "WHAT THE CLIENTS SAW (plaintext)", "WHAT CROSSED THE RELAY (ciphertext and metadata only)")
	fmt.Fprintln(w, rule)
	for i, s := range steps {
		if i > 0 {
			fmt.Fprintln(w, rule)
		}
		fmt.Fprintf(w, " %s\n", strings.ToUpper(s.title))
		left := wrap(s.client, leftWidth-1)
		right := s.relay
		if len(right) == 0 {
			right = []string{"(nothing)"}
		}
		for j := 0; j < max(len(left), len(right)); j++ {
			l, r := "", ""
			if j < len(left) {
				l = left[j]
			}
			if j < len(right) {
				r = clip(right[j], rightWidth)
			}
			fmt.Fprintf(w, " %s │ %s\n", pad(l, leftWidth-1), r)
		}
	}
	fmt.Fprintln(w, rule)
}

// wrap breaks lines longer than width at spaces, indenting continuations.
func wrap(lines []string, width int) []string {
	var out []string
	for _, l := range lines {
		r := []rune(l)
		for len(r) > width {
			cut := strings.LastIndex(string(r[:width]), " ")
			if cut <= 0 {
				cut = len(string(r[:width]))
			}
			head := string(r)[:cut]
			out = append(out, head)
			r = []rune("   " + strings.TrimLeft(string(r)[cut:], " "))
		}
		out = append(out, string(r))
	}
	return out
}

func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

func clip(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	return string([]rune(s)[:width-1]) + "…"
}

// b64 shows a binary value as the start of its base64 and its length.
func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	if len(s) > 12 {
		s = s[:12] + "…"
	}
	return fmt.Sprintf("%s(%dB)", s, len(b))
}

// describe summarises one message that crossed the relay, or returns false for the ones the demo
// leaves out (acknowledgements, the online list, and the forwarded copies of what a client sent:
// the relay forwards them unchanged, with from in place of to).
func describe(f wiretap.Frame, who string) (string, bool) {
	dir := wire.FromClient
	arrow := who + " → relay: "
	if f.Direction == wiretap.ToClient {
		dir, arrow = wire.FromServer, "relay → "+who+": "
	}
	m, err := wire.Decode(dir, f.Data)
	if err != nil {
		return arrow + "invalid message: " + err.Error(), true
	}
	s, ok := summary(m)
	return arrow + s, ok
}

func summary(m wire.Message) (string, bool) {
	switch m := m.(type) {
	case *wire.Hello:
		return "hello user=" + m.User, true
	case *wire.HelloAck:
		return "hello_ack challenge=" + b64(m.Challenge), true
	case *wire.Register:
		return "register identity_key=" + b64(m.IdentityKey) + " proof=…", true
	case *wire.RegisterAck:
		return "register_ack " + m.Fingerprint[:15] + "…", true
	case *wire.GetPubkey:
		return "get_pubkey " + m.User, true
	case *wire.Pubkey:
		return "pubkey " + m.User + " identity_key=" + b64(m.IdentityKey), true
	case *wire.ChatRequest:
		return "chat_request to=" + m.To + " session=" + b64(m.Session), true
	case *wire.ChatResponse:
		return fmt.Sprintf("chat_response to=%s accepted=%v", m.To, m.Accepted), true
	case *wire.ChatTerminate:
		return "chat_terminate to=" + m.To, true
	case *wire.Relay:
		return "relay to=" + m.To + " " + payload(m.Payload), true
	case *wire.GroupJoin:
		return "group_join " + m.Group, true
	case *wire.GroupLeave:
		return "group_leave " + m.Group, true
	case *wire.GroupMembers:
		return fmt.Sprintf("group_members %s epoch=%d members=%s", m.Group, m.Epoch, strings.Join(m.Members, ",")), true
	case *wire.GroupCommit:
		c := m.Commit
		var users []string
		for _, w := range c.Wraps {
			users = append(users, w.User)
		}
		return fmt.Sprintf("group_commit epoch=%d, wraps for %s, signed", c.Epoch, strings.Join(users, ",")), true
	case *wire.GroupMessage:
		g := m.Message
		return fmt.Sprintf("group_message epoch=%d n=%d ct=%s, signed", g.Epoch, g.N, b64(g.Ct)), true
	case *wire.ErrorMessage:
		return "error " + string(m.Code) + ": " + m.Message, true
	}
	return "", false
}

func payload(p wire.Payload) string {
	switch p := p.(type) {
	case *wire.HS1:
		return "hs1 e=" + b64(p.E)
	case *wire.HS2:
		return "hs2 e=" + b64(p.E) + " sig,fin=…"
	case *wire.HS3:
		return "hs3 sig=" + b64(p.Sig) + " fin=…"
	case *wire.MsgRecord:
		return fmt.Sprintf("msg n=%d ct=%s", p.N, b64(p.Ct))
	case *wire.CloseRecord:
		return fmt.Sprintf("close n=%d ct=%s", p.N, b64(p.Ct))
	}
	return "?"
}
