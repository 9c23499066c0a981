package clientsuite

import "github.com/blindpost/blindpost/conformance/conform"

// The end of a session (spec §6.5 REC-12): the one chat_terminate after a close record is
// exempt, a second is not.
func init() {
	conform.Register(conform.Case{ID: "client/records/terminate-after-close", Rules: []string{"REC-12", "REC-10"},
		Description: "bob ends the session with a close record and chat_terminate: ended, nothing rejected; a second " +
			"chat_terminate for the ended session: unexpected_message",
		Run: terminateAfterClose})
}

func terminateAfterClose(t *conform.T) {
	w := Start(t)
	bob := w.NewPeer("bob")
	c := w.Responded(bob)
	c.PeerSends(w.Text("bye soon"))
	c.PeerEnds()
	bob.Terminate(c.SID)
	w.ExpectReject(Reject{What: "a second chat_terminate for a session that ended with a close record", Code: "unexpected_message",
		Rules: []string{"REC-12"}, Session: c.ID})
}
