package clientsuite

import "github.com/blindpost/blindpost/conformance/harness"

// The end of a session (spec §6.5 REC-12): the one chat_terminate after a close record is
// exempt, a second is not.
func init() {
	harness.Register(harness.Case{ID: "client/records/terminate-after-close", Rules: []string{"REC-12", "REC-10"},
		Description: "bob ends the session with a close record and chat_terminate: ended, nothing rejected; a second " +
			"chat_terminate for the ended session: unexpected_message",
		Run: terminateAfterClose})
}

func terminateAfterClose(t *harness.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Responded(bob)
	c.PeerSends(w.Text("bye soon"))
	c.PeerEnds()
	bob.Terminate(c.SID)
	w.ExpectReject(Reject{What: "a second chat_terminate for a session that ended with a close record", Code: "unexpected_message",
		Rules: []string{"REC-12"}, Session: c.ID})
}

// Driver lines without a usable id and connects that fail below registration (spec A.1).
func init() {
	harness.Register(
		harness.Case{ID: "client/driver/line-without-id", Rules: []string{"DRV-6", "DRV-1"},
			Description: "lines that are not a JSON object, have no id, or an id of the wrong shape each get one failure " +
				"without id, error bad_command; the driver goes on answering",
			Run: lineWithoutID},
		harness.Case{ID: "client/driver/connect-failed", Rules: []string{"DRV-7"},
			Description: "connect to a port where nothing listens: the failure names connect_failed",
			Run:         connectFailed},
	)
}

func lineWithoutID(t *harness.T) {
	w := Launch(t)
	for _, raw := range []string{`not json`, `{"cmd":"list_users"}`, `{"id":"has space","cmd":"list_users"}`, `[1]`} {
		l, ok := w.D.Unanswerable([]byte(raw), w.Env.cfg.StartupWait)
		switch {
		case !ok:
			t.Mismatch("DRV-6", "a failure without id answering "+raw, "no answer")
		case l.OK() || l.Str("error") != "bad_command":
			t.Mismatch("DRV-6", "a failure without id, error bad_command, answering "+raw, l.String())
		}
	}
	w.Connect(ClientName, nil)
}

func connectFailed(t *harness.T) {
	w := Launch(t)
	l := w.D.Response(w.D.Send("connect", "url", "wss://127.0.0.1:1/", "user", ClientName, "pin", w.Env.Pin()), "connect", w.Env.cfg.StartupWait)
	w.D.unimplemented("connect", l)
	if l.OK() || l.Str("error") != "connect_failed" {
		t.Mismatch("DRV-7", "connect to a closed port refused with error connect_failed", l.String())
	}
}
