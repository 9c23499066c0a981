package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee"
)

// The screens below are driven by key presses decoded from terminal bytes and compared with
// testdata/*.golden (go test -update rewrites them). Each names the rules it shows.

// TestStartScreen: Broadcast is the first entry and selected, joined at start, with the
// online users after it; the status line says how Broadcast is secured [CLI-1].
func TestStartScreen(t *testing.T) {
	h := newHarness(t, Options{JoinBroadcast: true, Server: "wss://127.0.0.1:8443/"})
	h.called("JoinGroup broadcast")
	h.golden("start")
}

// TestRequestChat: Tab selects bob, Enter asks him for a chat; the status line follows the
// session from not secured to handshaking to secured with bob's key [CLI-1].
func TestRequestChat(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("<tab>")
	if h.m.sel != "bob" {
		t.Fatalf("selected %q after Tab, want bob", h.m.sel)
	}
	h.golden("select_bob")
	h.keys("<enter>")
	h.called("Chat bob")
	h.golden("request_sent")
	h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionHandshaking, Initiator: true, PeerFingerprint: fp("b")})
	h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionSecured, Initiator: true, PeerFingerprint: fp("b")})
	h.keys("hello bob<enter>")
	h.called("Chat bob", `Send 1 "hello bob"`)
	h.golden("secured")
}

// TestIncomingRequest: a request from carol is marked in the list and explained in the pane;
// a accepts it and d declines one [DRV-3: only the user answers].
func TestIncomingRequest(t *testing.T) {
	tests := []struct {
		name, key, golden string
		call              string
		want              []string
	}{
		{"accept", "a", "request_accepted", "Accept 7", []string{"handshaking with carol… · not secured yet"}},
		{"accept command", "/accept<enter>", "", "Accept 7", []string{"handshaking with carol"}},
		{"decline", "d", "request_declined", "Decline 7", []string{"declined (declined by you)", "declined · not secured"}},
		{"decline command", "/decline<enter>", "", "Decline 7", []string{"declined by you"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.events(client.ChatRequestEvent{From: "carol", Session: sid(7)})
			if got := h.row(3); !strings.HasSuffix(strings.TrimRight(strings.Split(got, "│")[0], " "), "?") {
				t.Fatalf("carol's entry %q lacks the request marker", got)
			}
			h.keys("<tab><tab>")
			if tt.golden == "request_accepted" {
				h.golden("request_incoming")
			}
			h.keys(tt.key)
			h.called(tt.call)
			h.contains(tt.want...)
			if tt.golden != "" {
				h.golden(tt.golden)
			}
		})
	}
}

// secured returns a harness with a secured session with bob, selected.
func secured(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, Options{})
	h.keys("<tab><enter>")
	h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionSecured, Initiator: true, PeerFingerprint: fp("b")})
	h.fake.pins["bob"] = fp("b")
	return h
}

// TestStatusLine: the status line in every state says whether the conversation is end-to-end
// secured and with whom [CLI-1], and the connection [CLI-3].
func TestStatusLine(t *testing.T) {
	tests := []struct {
		name   string
		events []client.Event
		keys   string
		want   string
	}{
		{"not secured", nil, "", "not secured · Enter to ask bob for an encrypted chat | connected"},
		{"requested", nil, "<enter>", "not secured · waiting for bob to accept… | connected"},
		{"handshaking", []client.Event{client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionHandshaking}}, "<enter>",
			"handshaking with bob… · not secured yet | connected"},
		{"secured", []client.Event{client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionSecured, PeerFingerprint: fp("b")}}, "<enter>",
			"🔒 secured with bob · safety number not verified | connected"},
		{"ended", []client.Event{client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionEnded, Reason: "bob ended it"}}, "<enter>",
			"ended · not secured · Enter for a new chat | connected"},
		{"ended unverified", []client.Event{client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionEndedUnverified}}, "<enter>",
			"ended (unverified) · not secured · Enter for a new chat | connected"},
		{"failed", []client.Event{client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionFailed}}, "<enter>",
			"failed · not secured · Enter for a new chat | connected"},
		{"offline", []client.Event{client.UsersEvent{Users: []string{"alice"}}}, "",
			"not secured · bob is offline | connected"},
		{"reconnecting", []client.Event{client.ConnectionEvent{State: client.Reconnecting, Attempt: 2, Delay: 4 * time.Second}}, "",
			"not secured · Enter to chat | reconnecting in 4s (attempt 2)"},
		{"disconnected", []client.Event{client.ConnectionEvent{State: client.Disconnected, Code: 4001, Reason: "replaced", Final: true}}, "",
			"not secured · Enter to chat | disconnected: 4001 replaced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.keys("<tab>" + tt.keys)
			h.events(tt.events...)
			if got := h.status(); got != tt.want {
				t.Fatalf("status line\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestStatusLineASCII: without glyphs the padlock is spelled out [CLI-1].
func TestStatusLineASCII(t *testing.T) {
	h := newHarness(t, Options{ASCII: true})
	h.keys("<tab><enter>")
	h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionSecured, PeerFingerprint: fp("b")})
	want := "[E2E] secured with bob · safety number not verified | connected"
	if got := h.status(); got != want {
		t.Fatalf("status line\n got %q\nwant %q", got, want)
	}
}

// TestReconnectCountdown: the status line counts down to the next attempt and says when the
// connection is back [CLI-3].
func TestReconnectCountdown(t *testing.T) {
	h := newHarness(t, Options{})
	h.events(client.ConnectionEvent{State: client.Disconnected, Code: 1006})
	h.events(client.ConnectionEvent{State: client.Reconnecting, Attempt: 1, Delay: time.Second})
	h.tick(time.Second)
	h.events(client.ConnectionEvent{State: client.Reconnecting, Attempt: 2, Delay: 4 * time.Second})
	h.golden("reconnecting")
	h.tick(time.Second)
	if got := h.status(); !strings.HasSuffix(got, "reconnecting in 3s (attempt 2)") {
		t.Fatalf("status %q after 1s", got)
	}
	h.events(client.ConnectionEvent{State: client.Connected})
	h.said("reconnected to the relay")
	if got := h.status(); !strings.HasSuffix(got, " connected") {
		t.Fatalf("status %q after reconnecting", got)
	}
}

// TestVerify: /verify shows the 60-digit safety number in 12 groups of 5 with how to compare
// it, and /verify ok marks it verified in the status line [TRUST-4].
func TestVerify(t *testing.T) {
	h := secured(t)
	h.keys("/verify<enter>")
	h.called("SafetyNumber bob")
	h.contains("12345 67890 12345 67890", "09876 54321 09876 54321")
	h.said("type /verify ok")
	h.golden("verify")
	h.keys("/verify ok<enter>")
	if got := h.status(); !strings.Contains(got, "🔒 secured with bob · safety number verified") {
		t.Fatalf("status %q after /verify ok", got)
	}
	if !h.m.verified.IsVerified("bob", fp("b")) {
		t.Fatal("bob's key not recorded as verified")
	}
}

// TestVerifyOKNeedsNumber: /verify ok before the number was shown marks nothing [TRUST-4].
func TestVerifyOKNeedsNumber(t *testing.T) {
	h := secured(t)
	h.keys("/verify ok<enter>")
	h.said("first show the safety number with /verify")
	if h.m.verified.IsVerified("bob", fp("b")) {
		t.Fatal("verified without seeing the number")
	}
}

// TestKeyChangedAndTrust: key_changed says that new sessions with bob are blocked until
// /trust bob [TRUST-2, CLI-2]; /trust bob shows old and new keys and what trusting means, and
// only /trust bob yes trusts.
func TestKeyChangedAndTrust(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.pins["bob"], h.fake.served["bob"] = fp("b"), fp("c")
	h.fake.errs["Chat"] = e2ee.Reject(e2ee.KeyChanged, "TRUST-2", "bob's key differs from the pin")
	h.keys("<tab><enter>")
	h.events(client.SecurityEvent{Code: e2ee.KeyChanged, Rule: "TRUST-2", Peer: "bob", Detail: "bob's key differs from the pin"})
	h.said("SECURITY key_changed [TRUST-2] bob", "new sessions with bob are blocked until you run /trust bob after verifying the new key")
	if got, want := h.status(), "not secured · bob's key changed: blocked until /trust bob | connected"; got != want {
		t.Fatalf("status %q, want %q", got, want)
	}
	h.golden("key_changed")
	h.keys("/trust bob<enter>")
	h.called("ServedFingerprint bob")
	h.said("KEY CHANGE for bob", "Only if it matches, type /trust bob yes")
	if strings.Contains(strings.Join(h.fake.calls, ","), "Trust bob") {
		t.Fatal("trusted before the user confirmed")
	}
	h.golden("trust_warning")
	h.keys("/trust bob yes<enter>")
	h.called("ServedFingerprint bob", "Trust bob")
	h.said("new key sha256:cccccccccccccccc pinned for bob on your decision")
	if got, want := h.status(), "not secured · Enter to ask bob for an encrypted chat | connected"; got != want {
		t.Fatalf("status after /trust %q, want %q", got, want)
	}
}

// TestSecurityNotices: every rejection is a visible notice with its code and rule; one that
// concerns another conversation marks it in the list [CLI-2].
func TestSecurityNotices(t *testing.T) {
	h := secured(t)
	h.events(client.SecurityEvent{Code: e2ee.BadTag, Rule: "REC-5", Peer: "bob", Session: sid(1), Detail: "record 4 failed authentication"},
		client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionFailed, Reason: "a record failed authentication"})
	h.said("SECURITY bad_tag [REC-5] bob", "tampered ciphertext")
	h.contains("failed · not secured")
	h.golden("tampering")
	h.events(client.SecurityEvent{Code: e2ee.ForgedSender, Rule: "GRP-16", Group: client.Broadcast, Peer: "carol"})
	if got := h.row(1); !strings.Contains(got, "Broadcast") || !strings.Contains(strings.Split(got, "│")[0], "!") {
		t.Fatalf("Broadcast entry %q lacks the alert marker", got)
	}
	h.said("SECURITY forged_sender [GRP-16] concerning Broadcast: see its conversation, marked ! in the list")
}

// TestEveryOutcomeExplained: each outcome code of spec A.4 has an explanation [CLI-2].
func TestEveryOutcomeExplained(t *testing.T) {
	for _, o := range e2ee.Outcomes() {
		if explanations[o] == "" {
			t.Errorf("no explanation for %s", o)
		}
	}
}

// TestUnverifiedEnd: a chat_terminate without close is a security notice and the status says
// ended (unverified) [REC-11, CLI-1, CLI-2].
func TestUnverifiedEnd(t *testing.T) {
	h := secured(t)
	h.events(client.SecurityEvent{Code: e2ee.UnverifiedEnd, Rule: "REC-11", Peer: "bob", Session: sid(1)},
		client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionEndedUnverified, Reason: "bob ended the session without a close record"})
	h.said("SECURITY unverified_end [REC-11] bob")
	h.contains("ended (unverified) · not secured")
	h.golden("ended_unverified")
}

// TestEnd: /end ends the session through the library (close record, then terminate: REC-9).
func TestEnd(t *testing.T) {
	h := secured(t)
	h.keys("/end<enter>")
	h.called("End 1")
	h.said("session ended (ended by you); its keys are erased")
	h.contains("ended · not secured")
	h.golden("ended")
}

// TestNotSentWithoutSession: text typed in a conversation that is not secured is never sent.
func TestNotSentWithoutSession(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("<tab>secret<enter>")
	for _, c := range h.fake.calls {
		if strings.HasPrefix(c, "Send") {
			t.Fatalf("sent without a secured session: %q", c)
		}
	}
	h.said("not sent: this conversation is not end-to-end secured", "your text stays in the input line")
	if got := h.m.input.Value(); got != "secret" {
		t.Errorf("input after the refusal = %q, want the typed text kept", got)
	}
	// In a group not joined, the same; and what was typed later is not overwritten.
	h.keys("<esc><s-tab>hello all<enter>")
	h.said("not sent: join the group first")
	if got := h.m.input.Value(); got != "hello all" {
		t.Errorf("input after the refusal in a group = %q, want the typed text kept", got)
	}
}

// TestSendFailureKeepsText: a send the library refuses gives the text back to the input line,
// or, when something else was typed meanwhile, shows it in a notice: nothing typed is lost.
func TestSendFailureKeepsText(t *testing.T) {
	h := secured(t)
	h.fake.errs["Send"] = client.ErrNotConnected
	h.keys("lunch at noon?<enter>")
	h.said("not sent: not connected to the relay")
	if strings.Contains(h.screen(), "alice: lunch at noon?") {
		t.Errorf("a message never sent is still shown:\n%s", h.screen())
	}
	if got := h.m.input.Value(); got != "lunch at noon?" {
		t.Errorf("input after a failed send = %q, want the typed text kept", got)
	}
	// The answer of an earlier send arrives after the user typed something else.
	h.m.input.SetValue("new text")
	id := h.m.pending(h.m.current(), "old text")
	h.send(resultMsg(sendResult{key: h.m.sel, id: id, typed: "old text", err: client.ErrNotConnected}.apply))
	if got := h.m.input.Value(); got != "new text" {
		t.Errorf("input = %q, want what was typed since", got)
	}
	h.said("your unsent text: old text")
}

// TestHelp: /help and F1 show every key and command; Esc closes.
func TestHelp(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("/help<enter>")
	h.golden("help")
	h.keys("<pgdn>")
	h.contains("/trust NAME yes", "/leave [GROUP]")
	h.keys("<esc>")
	if h.m.help {
		t.Fatal("Esc did not close the help")
	}
	h.keys("<f1>")
	if !h.m.help {
		t.Fatal("F1 did not open the help")
	}
}

// TestLongNamesAndMessages: at 80×24, a 32-character name is cut in the list and the status
// line, and long messages wrap under their timestamp.
func TestLongNamesAndMessages(t *testing.T) {
	h := newHarness(t, Options{})
	long := "a-very-long-username-of-32-chars"
	h.events(client.UsersEvent{Users: []string{"alice", "bob", long}})
	h.events(client.ChatRequestEvent{From: long, Session: sid(9)})
	h.keys("<down>a")
	h.events(client.SessionEvent{Session: sid(9), Peer: long, State: client.SessionSecured, PeerFingerprint: fp("d")})
	h.events(client.MessageEvent{Session: sid(9), From: long, Text: strings.Repeat("lorem ipsum dolor sit amet ", 8) + "https://example.org/" + strings.Repeat("x", 90)})
	h.events(client.MessageEvent{Session: sid(9), From: long, Text: "line one\nline two\x1b[2J\u202e"})
	h.golden("long")
}

// TestUnread: a message in a conversation that is not selected marks it; selecting clears it.
func TestUnread(t *testing.T) {
	h := newHarness(t, Options{})
	h.events(client.GroupMessageEvent{Group: client.Broadcast, From: "carol", Text: "hi all"})
	h.keys("<tab>")
	h.events(client.MessageEvent{From: "carol", Text: "psst"})
	h.golden("unread")
	h.keys("<tab>")
	h.contains("carol: psst")
	if c := h.m.conversation("carol"); c.unread != 0 {
		t.Fatalf("carol still unread: %d", c.unread)
	}
}

// TestScroll: PgUp shows older lines and new lines do not pull the view back down; PgDn
// returns.
func TestScroll(t *testing.T) {
	h := secured(t)
	for i := range 40 {
		h.events(client.MessageEvent{Session: sid(1), From: "bob", Text: "message " + string(rune('A'+i%26)) + strings.Repeat("!", i/26)})
	}
	h.keys("<pgup>")
	before := h.screen()
	h.events(client.MessageEvent{Session: sid(1), From: "bob", Text: "newest"})
	if h.screen() != before {
		t.Fatal("a new message moved a scrolled-up view")
	}
	h.keys("<pgdn><pgdn>")
	h.contains("bob: newest")
}

// TestResize: the layout follows the terminal size.
func TestResize(t *testing.T) {
	h := secured(t)
	h.events(client.MessageEvent{Session: sid(1), From: "bob", Text: "this line wraps differently at each width of the terminal window"})
	for _, size := range []struct{ w, h int }{{100, 30}, {60, 16}} {
		h.send(tea.WindowSizeMsg{Width: size.w, Height: size.h})
		h.golden(fmt.Sprintf("resize_%dx%d", size.w, size.h))
	}
}

// TestQuit: Ctrl-C ends every live session through the library, with its close record
// [REC-9], closes the client and quits.
func TestQuit(t *testing.T) {
	for _, key := range []string{"<ctrl-c>", "/quit<enter>"} {
		t.Run(key, func(t *testing.T) {
			h := secured(t)
			h.keys(key)
			h.called("End 1", "Close")
			if !h.quit {
				t.Fatal("did not quit")
			}
		})
	}
}

// TestGroupCommands: /leave and /join act on the broadcast group; Enter sends to it.
func TestGroupCommands(t *testing.T) {
	h := newHarness(t, Options{JoinBroadcast: true})
	h.keys("hello everyone<enter>")
	h.called(`GroupSend broadcast "hello everyone"`)
	h.contains("alice: hello everyone")
	h.keys("/leave<enter>")
	h.called("LeaveGroup broadcast")
	h.contains("not joined")
	h.keys("/join<enter>")
	h.called("LeaveGroup broadcast", "JoinGroup broadcast")
}

// TestCursor: the terminal cursor sits in the input line after what was typed.
func TestCursor(t *testing.T) {
	h := newHarness(t, Options{})
	h.keys("héllo")
	c := h.m.View().Cursor
	if c == nil || c.Position.Y != 23 || c.Position.X != 7 {
		t.Fatalf("cursor %+v, want (7, 23)", c)
	}
}

// TestRequestWhileElsewhere: a request for a conversation that is not selected is announced
// in the one that is, as well as marked in the list.
func TestRequestWhileElsewhere(t *testing.T) {
	h := newHarness(t, Options{})
	h.events(client.ChatRequestEvent{From: "carol", Session: sid(7)})
	h.said("carol asks for a chat: select carol (marked ? in the list) to answer")
	h.contains("carol asks for a chat")
}

// TestGroupMembers: the relay's announcements after the first say who joined and left.
func TestGroupMembers(t *testing.T) {
	h := newHarness(t, Options{JoinBroadcast: true}) // the fake announces alice alone first
	h.events(client.GroupMembersEvent{Group: client.Broadcast, Members: []string{"alice", "bob", "carol"}},
		client.GroupMembersEvent{Group: client.Broadcast, Members: []string{"alice", "carol"}})
	h.said("bob, carol joined; waiting for the rekey", "bob left; the group rekeys without them")
}

// TestCommands: the other slash commands and their calls.
func TestCommands(t *testing.T) {
	tests := []struct {
		name, keys string
		call       string
		said       string
	}{
		{"chat", "/chat carol<enter>", "Chat carol", "asked carol for an end-to-end encrypted chat"},
		{"chat self", "/chat alice<enter>", "", "usage: /chat NAME"},
		{"slash message", "//etc/hosts is fine<enter>", `Send 1 "/etc/hosts is fine"`, ""},
		{"unknown", "/frobnicate<enter>", "", "unknown command /frobnicate; /help lists them"},
		{"end without session", "<tab>/end<enter>", "", "no session with carol to end"},
		{"accept without request", "/accept<enter>", "", "no chat request to answer here"},
		{"verify in a group", "<s-tab>/verify<enter>", "", "safety numbers are per person"},
		{"whoami", "/whoami<enter>", "", "you are alice; your key's fingerprint"},
		{"trust yes first", "/trust bob yes<enter>", "", "first run /trust bob to see the new key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := secured(t)
			h.keys(tt.keys)
			if tt.call != "" {
				h.called(tt.call)
			}
			if tt.said != "" {
				h.said(tt.said)
			}
		})
	}
}

// ownLine returns the rows of the screen that show a message alice sent with text.
func (h *harness) ownLine(text string) string {
	h.t.Helper()
	for _, r := range strings.Split(h.screen(), "\n") {
		if strings.Contains(r, "alice: "+text) {
			return r
		}
	}
	h.t.Fatalf("no row shows alice: %s\n%s", text, h.screen())
	return ""
}

// deliveredTo is the event of a receipt from bob covering record n of session 1.
func deliveredTo(n uint64, st client.DeliveryState) client.DeliveryEvent {
	return client.DeliveryEvent{Session: sid(1), Peer: "bob", N: n, State: st}
}

// TestDeliveryMarks: a sent message says sending until the relay answers, relayed until a
// receipt covers it, and delivered only then [RCP-3]; a late answer never takes it back.
func TestDeliveryMarks(t *testing.T) {
	h := secured(t)
	h.holding("hello bob<enter>")
	if got := h.ownLine("hello bob"); !strings.HasSuffix(got, "alice: hello bob · sending…") {
		t.Fatalf("row before the relay answered: %q", got)
	}
	h.golden("delivery_sending")
	h.release()
	h.called(`Send 1 "hello bob"`)
	if got := h.ownLine("hello bob"); !strings.HasSuffix(got, "alice: hello bob · relayed") {
		t.Fatalf("row once relayed: %q", got)
	}
	h.events(deliveredTo(0, client.DeliveryDelivered))
	if got := h.ownLine("hello bob"); !strings.HasSuffix(got, "alice: hello bob · ✓ delivered") {
		t.Fatalf("row once delivered: %q", got)
	}
	h.events(deliveredTo(0, client.DeliveryRelayed))
	if got := h.ownLine("hello bob"); !strings.HasSuffix(got, "· ✓ delivered") {
		t.Fatalf("a late relayed event took the row back: %q", got)
	}
	h.golden("delivery_delivered")
}

// TestDeliveryBeforeSendAnswers: the receipt can come before the answer of Send that names the
// record's counter; the message still ends up delivered, not relayed [RCP-3].
func TestDeliveryBeforeSendAnswers(t *testing.T) {
	h := secured(t)
	h.fake.sentN = 4
	h.holding("quick<enter>")
	h.events(deliveredTo(4, client.DeliveryRelayed), deliveredTo(4, client.DeliveryDelivered))
	if got := h.ownLine("quick"); !strings.HasSuffix(got, "· sending…") {
		t.Fatalf("row before Send answered: %q", got)
	}
	h.release()
	if got := h.ownLine("quick"); !strings.HasSuffix(got, "alice: quick · ✓ delivered") {
		t.Fatalf("row after Send answered: %q", got)
	}
}

// TestRelayRefusesRecord: a record the relay refuses after it was sealed is marked not
// delivered and its text offered to /resend, not silently dropped [CLI-21].
func TestRelayRefusesRecord(t *testing.T) {
	h := secured(t)
	h.fake.refuse = &client.ServerError{Code: "rate_limited"}
	h.keys("too fast<enter>")
	if got := h.ownLine("too fast"); !strings.HasSuffix(got, "alice: too fast · ✗ not delivered") {
		t.Fatalf("row of a refused record: %q", got)
	}
	h.said("1 message to bob was not delivered (marked ✗); its text is kept: /resend puts it back in the input line")
	if got := h.m.input.Value(); got != "" {
		t.Fatalf("input = %q: the kept text belongs to /resend, not the input line", got)
	}
	h.fake.refuse = nil
	h.keys("/resend<enter>")
	if got := h.m.input.Value(); got != "too fast" {
		t.Fatalf("input after /resend = %q", got)
	}
	h.keys("<enter>")
	h.called(`Send 1 "too fast"`, "TakeOutbox bob", `Send 1 "too fast"`)
}

// TestSessionGone: when the relay reports bob offline, replaced by a newer login, or the
// receipts stall while he is offline, the status line leaves secured and says why in words
// [CLI-20, SES-3, CLI-22]; what no receipt covered is marked not delivered and kept [CLI-21].
func TestSessionGone(t *testing.T) {
	tests := []struct {
		reason, golden string
		state          client.SessionState
		status, notice string
	}{
		{client.ReasonPeerOffline, "peer_offline", client.SessionEndedUnverified,
			"ended: bob went offline · not secured · Enter for a new chat",
			"bob went offline: the session with bob ended and is no longer secured; its keys are erased"},
		{client.ReasonPeerReplaced, "", client.SessionEndedUnverified,
			"ended: bob logged in elsewhere · not secured · Enter for a new chat",
			"bob logged in elsewhere: the session with bob ended"},
		{client.ReasonReceiptsStalled, "", client.SessionFailed,
			"ended: no delivery receipts from bob, who is offline · not secured",
			"no delivery receipts from bob, who is offline: the session with bob ended"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			h := secured(t)
			h.keys("are you there?<enter>see you at 5<enter>")
			h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: tt.state, Initiator: true, PeerFingerprint: fp("b"), Reason: tt.reason},
				h.fake.fail(sid(1), "bob", 0, "are you there?"), h.fake.fail(sid(1), "bob", 1, "see you at 5"))
			if got := strings.TrimSpace(h.row(-2)); !strings.HasPrefix(got, tt.status+" ") || !strings.HasSuffix(got, " connected") {
				t.Fatalf("status line\n got %q\nwant %q, then connected", got, tt.status)
			}
			if strings.Contains(h.screen(), "🔒 secured") {
				t.Fatalf("still shown secured:\n%s", h.screen())
			}
			h.said(tt.notice, "2 messages to bob were not delivered (marked ✗); their text is kept: start a new chat with bob (Enter on an empty line), then /resend puts them back, one at a time,")
			for _, text := range []string{"are you there?", "see you at 5"} {
				if got := h.ownLine(text); !strings.HasSuffix(got, "· ✗ not delivered") {
					t.Fatalf("row of an undelivered message: %q", got)
				}
			}
			hints := 0
			for _, l := range h.m.current().lines {
				if l.hint {
					hints++
				}
			}
			if hints != 1 {
				t.Fatalf("%d notices count the undelivered messages, want one updated in place", hints)
			}
			if tt.golden != "" {
				h.golden(tt.golden)
			}
		})
	}
}

// TestResendAfterSessionGone: /resend puts the undelivered texts back in the input line one
// at a time, oldest first, and says how many are left; Enter does not send them before a new
// session is secured [CLI-21, HS-10].
func TestResendAfterSessionGone(t *testing.T) {
	h := secured(t)
	h.keys("one<enter>//two<enter>")
	h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionEndedUnverified, Reason: client.ReasonPeerOffline},
		h.fake.fail(sid(1), "bob", 0, "one"), h.fake.fail(sid(1), "bob", 1, "/two"))
	h.keys("/resend<enter>")
	if got := h.m.input.Value(); got != "one" {
		t.Fatalf("input after /resend = %q, want the oldest undelivered text", got)
	}
	h.said("an undelivered message to bob is back in the input line: Enter sends it once a new session with bob is secured", "1 more after it: /resend again")
	h.golden("resend")
	h.keys("<enter>")
	h.said("not sent: this conversation is not end-to-end secured")
	if got := h.m.input.Value(); got != "one" {
		t.Fatalf("input after Enter without a session = %q, want the text kept", got)
	}
	h.keys("<esc><enter>")
	h.called("TakeOutbox bob", "Chat bob")
	h.events(client.SessionEvent{Session: sid(2), Peer: "bob", State: client.SessionSecured, Initiator: true, PeerFingerprint: fp("b")})
	h.keys("/resend<enter>")
	if got := h.m.input.Value(); got != "//two" {
		t.Fatalf("input after the second /resend = %q, want the slash escaped", got)
	}
	h.keys("<enter>/resend<enter>")
	h.called(`Send 2 "/two"`)
	h.said("no undelivered message to bob to send again")
}

// TestGroupAtMostRelayed: a group message gets no receipt, so it never shows delivered [RCP-3].
func TestGroupAtMostRelayed(t *testing.T) {
	h := newHarness(t, Options{JoinBroadcast: true})
	h.holding("hello all<enter>")
	if got := h.ownLine("hello all"); !strings.HasSuffix(got, "· sending…") {
		t.Fatalf("row before the relay answered: %q", got)
	}
	h.release()
	if got := h.ownLine("hello all"); !strings.HasSuffix(got, "alice: hello all · relayed") {
		t.Fatalf("row of a relayed group message: %q", got)
	}
	if strings.Contains(h.screen(), "delivered") {
		t.Fatalf("a group message shown delivered:\n%s", h.screen())
	}
}

// TestDeliveryMarksASCII: with the ASCII option the marks are plain text and keep their words.
func TestDeliveryMarksASCII(t *testing.T) {
	h := newHarness(t, Options{ASCII: true})
	h.keys("<tab><enter>")
	h.events(client.SessionEvent{Session: sid(1), Peer: "bob", State: client.SessionSecured, PeerFingerprint: fp("b")})
	h.holding("a<enter>")
	if got := h.ownLine("a"); !strings.HasSuffix(got, "alice: a · sending...") {
		t.Fatalf("row while sending: %q", got)
	}
	h.release()
	h.keys("b<enter>")
	h.events(deliveredTo(0, client.DeliveryDelivered), h.fake.fail(sid(1), "bob", 1, "b"))
	if got := h.ownLine("a"); !strings.HasSuffix(got, "alice: a · + delivered") {
		t.Fatalf("row once delivered: %q", got)
	}
	if got := h.ownLine("b"); !strings.HasSuffix(got, "alice: b · x not delivered") {
		t.Fatalf("row once failed: %q", got)
	}
	h.said("(marked x)")
	for _, g := range []string{"✓", "✗", "…"} {
		if strings.Contains(h.screen(), g) {
			t.Fatalf("ASCII screen shows %q:\n%s", g, h.screen())
		}
	}
}

// TestSendNoAnswerInTime: when the relay does not answer in time, the message stays marked
// sending, and the delivery event that follows decides it [RCP-3, CLI-21].
func TestSendNoAnswerInTime(t *testing.T) {
	h := secured(t)
	h.fake.errs["Send"] = context.DeadlineExceeded
	h.keys("slow<enter>")
	h.said("the relay has not answered yet for your message")
	if got := h.ownLine("slow"); !strings.HasSuffix(got, "alice: slow · sending…") {
		t.Fatalf("row without an answer: %q", got)
	}
	if got := h.m.input.Value(); got != "" {
		t.Fatalf("input = %q: the message may still arrive, so it is not given back", got)
	}
	h.events(h.fake.fail(sid(1), "bob", 0, "slow"))
	if got := h.ownLine("slow"); !strings.HasSuffix(got, "alice: slow · ✗ not delivered") {
		t.Fatalf("row once failed: %q", got)
	}
}
