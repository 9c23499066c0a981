package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/display"
	"github.com/blindpost/blindpost/impl/e2ee"
)

// explanations say, for people, what each rejection of spec A.4 means and what happened to
// the input (spec §9 [CLI-2]). NAME stands for the peer.
var explanations = map[e2ee.Outcome]string{
	e2ee.BadSignature:       "a signature did not verify against the pinned key: the message was forged or altered, and was rejected",
	e2ee.BadFinished:        "the handshake's Finished check failed: someone tampered with the handshake, which was aborted",
	e2ee.LowOrderPoint:      "the peer's ephemeral key was invalid (a low-order point): the handshake was aborted",
	e2ee.BadSuite:           "no acceptable cipher suite, or one that was not offered (a downgrade attempt): the handshake was aborted",
	e2ee.UnexpectedMessage:  "a message came out of order, or for an unknown or ended session: it was rejected",
	e2ee.Malformed:          "a message from the relay or the peer broke the protocol's format: it was rejected",
	e2ee.ReplayedCounter:    "a message was replayed or reordered: it was rejected and the session goes on",
	e2ee.ReflectedRecord:    "one of your own messages was sent back to you: it was rejected",
	e2ee.BadTag:             "a message failed authentication (tampered ciphertext): the session was ended and its keys erased",
	e2ee.BadContent:         "a message decrypted to something that is not a message: it was rejected",
	e2ee.UnverifiedEnd:      "the session was ended without an encrypted close record, so NAME may not have ended it: the relay or the network could have cut it; its keys are erased",
	e2ee.KeyChanged:         "the relay now serves NAME an identity key that differs from the one you pinned: new sessions with NAME are blocked until you run /trust NAME after verifying the new key with NAME out of band (in person or on a call). It happens when NAME reinstalled, or when someone, perhaps the relay, impersonates NAME",
	e2ee.KeyNotPinned:       "a group update lists a key for NAME that differs from your pin: the epoch was refused; run /trust NAME only after verifying NAME's new key",
	e2ee.StaleEpoch:         "a group update or message was not for the current epoch: it was rejected",
	e2ee.BadPrev:            "a group update does not follow the previous one: it was rejected",
	e2ee.NotListed:          "a group update does not list you, or comes from a non-member: it was rejected",
	e2ee.BadMembers:         "a group update has a malformed member list: it was rejected",
	e2ee.BadWrap:            "the group key sealed for you did not open: the update was rejected",
	e2ee.BadConfirmationTag: "a group update handed members different keys (confirmation tag mismatch): it was rejected",
	e2ee.CounterJump:        "a group message counter jumped too far ahead: it was rejected",
	e2ee.ForgedSender:       "a group message claims a sender who is not a member or did not sign it: it was rejected",
	e2ee.BadReceipt:         "a delivery receipt for a message never sent, or repeated: it was ignored and nothing is marked delivered",
	e2ee.BadEpochAck:        "a member confirmed another group update than the one you hold (a possible split of the group): it was not counted",
}

// securityText is the notice of a rejection: the outcome code, the rule id, who, and what it
// means (spec §9 [CLI-2]).
func securityText(e client.SecurityEvent) string {
	who := e.Peer
	if who == "" {
		who = "the peer"
	}
	expl, ok := explanations[e.Code]
	if !ok {
		expl = "a check of the protocol failed: the input was rejected"
	}
	s := fmt.Sprintf("SECURITY %s [%s]", sanitize(string(e.Code)), sanitize(e.Rule))
	if e.Peer != "" {
		s += " " + e.Peer
	}
	if e.Group != "" {
		s += " in #" + e.Group
	}
	s += ": " + strings.ReplaceAll(expl, "NAME", who)
	if e.Detail != "" {
		s += " (" + sanitize(e.Detail) + ")"
	}
	return s
}

// pinText is the notice of a pin (spec §6.6 [TRUST-1]) or of a re-trust (TRUST-2).
func pinText(e client.PinEvent) string {
	if e.Replaced {
		return fmt.Sprintf("new key %s pinned for %s on your decision, replacing the old pin; compare safety numbers again with /verify",
			shortFP(e.Fingerprint), e.Peer)
	}
	from := "the relay's directory"
	if e.Source == "commit" {
		from = "a group update"
	}
	return fmt.Sprintf("first contact: pinned %s's key %s from %s; from now on a different key is refused. Verify it with /verify",
		e.Peer, shortFP(e.Fingerprint), from)
}

// trustWarning says what /trust NAME yes does before the user does it (spec §6.6 [TRUST-2]).
func trustWarning(peer, pinned, served string) string {
	old := "    (none: no key is pinned for " + peer + " yet)"
	if pinned != "" {
		old = groupFP(pinned)
	}
	return fmt.Sprintf(`KEY CHANGE for %s. The key you pinned:
%s
The key the relay serves now:
%s
Trusting it means that you believe %s really changed keys. If the relay or an attacker made the change, trusting lets them read your new sessions with %s and speak as %s. First ask %s, in person or on a call you trust, to read the fingerprint that blindpost whoami prints, and compare it with the new key above. Only if it matches, type /trust %s yes`,
		peer, old, groupFP(served), peer, peer, peer, peer, peer)
}

// groupFP writes a fingerprint in groups of 8 hex digits, 4 to a line, indented, so that people
// can compare it group by group.
func groupFP(fp string) string {
	hex, ok := strings.CutPrefix(fp, "sha256:")
	if !ok {
		return "    " + fp
	}
	var lines, groups []string
	for i := 0; i < len(hex); i += 8 {
		groups = append(groups, hex[i:min(i+8, len(hex))])
		if len(groups) == 4 || i+8 >= len(hex) {
			lines = append(lines, "    "+strings.Join(groups, " "))
			groups = nil
		}
	}
	lines[0] = "    sha256:" + strings.TrimPrefix(lines[0], "    ")
	for i := 1; i < len(lines); i++ {
		lines[i] = "           " + strings.TrimPrefix(lines[i], "    ")
	}
	return strings.Join(lines, "\n")
}

// safetyText shows a safety number as 12 groups of 5 digits, with how to compare it
// (spec §6.6 [TRUST-4]).
func safetyText(me, peer, digits string, verified bool) string {
	groups := strings.Fields(client.FormatSafetyNumber(digits))
	var b strings.Builder
	fmt.Fprintf(&b, "Safety number of %s and %s:\n", me, peer)
	for i := 0; i < len(groups); i += 4 {
		fmt.Fprintf(&b, "    %s\n", strings.Join(groups[i:min(i+4, len(groups))], " "))
	}
	fmt.Fprintf(&b, "%s sees the same 60 digits if no one substituted a key. Compare them in person or read them aloud on a call you trust.", peer)
	if verified {
		b.WriteString(" You marked them verified.")
	} else {
		b.WriteString(" If they match, type /verify ok")
	}
	return b.String()
}

// serverErrorText explains a refusal of the relay (spec §5.7).
func serverErrorText(code, message string) string {
	hints := map[string]string{
		"user_offline": "the user is offline",
		"unknown_user": "no such user",
		"rate_limited": "too many requests; wait a moment",
		"too_large":    "the message is too large",
	}
	if h, ok := hints[code]; ok {
		return h + " (" + sanitize(code) + ")"
	}
	if message != "" {
		return sanitize(code) + ": " + sanitize(message)
	}
	return sanitize(code)
}

// disconnectText reports the end of a connection (spec §9 [CLI-3]).
func disconnectText(e client.ConnectionEvent) string {
	s := fmt.Sprintf("disconnected from the relay (code %d", e.Code)
	if e.Reason != "" {
		s += ": " + sanitize(e.Reason)
	}
	s += ")"
	switch {
	case e.Final && e.Code == 4001:
		s += "; you logged in elsewhere, no reconnection follows"
	case e.Final:
		s += "; no reconnection follows"
	}
	return s
}

// sessionText describes a session state for people.
func sessionText(e client.SessionEvent) string {
	if why, ok := reasonText(e.Reason, e.Peer); ok && e.State.Ended() { // spec §9 [CLI-20]
		return why + ": the session with " + e.Peer + " ended and is no longer secured; its keys are erased"
	}
	reason := sanitize(e.Reason)
	switch e.State {
	case client.SessionRequested:
		return "asked " + e.Peer + " for an end-to-end encrypted chat; waiting for the answer"
	case client.SessionDeclined:
		return "chat request declined (" + reason + ")"
	case client.SessionHandshaking:
		return "handshake with " + e.Peer + " running; not secured yet"
	case client.SessionEnded:
		return "session ended (" + reason + "); its keys are erased"
	case client.SessionEndedUnverified:
		return "session ended without an encrypted close record: unverified end (" + reason + "); its keys are erased"
	case client.SessionFailed:
		return "session failed (" + reason + "); its keys are erased"
	}
	return "session " + sanitize(string(e.State))
}

// shortFP shortens a "sha256:HEX" fingerprint to its first 16 hex digits.
func shortFP(fp string) string {
	if len(fp) > len("sha256:")+16 {
		return fp[:len("sha256:")+16]
	}
	return fp
}

// roundSeconds writes d in whole seconds, rounded up, at least 1s.
func roundSeconds(d time.Duration) string {
	return fmt.Sprintf("%ds", max(int((d+time.Second-1)/time.Second), 1))
}

// sanitize makes text from the network safe to print in a notice, on one line (spec §9
// [CLI-30]): controls, bidirectional controls and invisible characters become U+FFFD, and a
// line break is shown as display.LineMark, so that a reason or an error cannot start a line.
func sanitize(s string) string { return display.Line(s) }
