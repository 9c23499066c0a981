package client

import (
	"fmt"
	"time"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// Event is something that happened, delivered in order on [Client.Events]. The concrete types
// are the *Event types of this package; a type switch over them is the whole protocol a user
// interface needs to render.
type Event interface{ isEvent() }

// ConnState is the state of the connection to the relay.
type ConnState int

// Connection states.
const (
	Connected    ConnState = iota // registered with the relay
	Reconnecting                  // waiting Delay before attempt Attempt (spec §9 [CLI-3])
	Disconnected                  // the connection ended; Final says whether a reconnection follows
)

// String returns the state in lower case.
func (s ConnState) String() string {
	switch s {
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	default:
		return "disconnected"
	}
}

// ConnectionEvent reports a change of the connection to the relay.
type ConnectionEvent struct {
	State ConnState
	// Connected: the relay's software name and the pin of the certificate verified on this
	// connection.
	Server string
	Pin    tlstrust.Pin
	// Reconnecting: the attempt about to be made (from 1) and the delay before it.
	Attempt int
	Delay   time.Duration
	// Disconnected: the WebSocket close code (1006 when the connection dropped without a close
	// frame), the close reason (or, when a reconnection failed for good, why the client gives up
	// and what to do: a changed certificate is reported as a possible attack), and whether the
	// client gives up (Final: no reconnection follows,
	// after Close, a replacement by a newer login (4001), a refused registration, or when the
	// backoff policy gives up).
	Code   int
	Reason string
	Final  bool
	// Err is the error that ended the connection or failed the attempt, if any.
	Err error
}

// UsersEvent is the list of users online now, refreshed by polling list_users (spec §5.4
// [SRV-5]). It is sent when the list changes.
type UsersEvent struct {
	Users     []string
	Truncated bool
}

// ChatRequestEvent is an incoming request for a 1:1 session. Answer it with [Client.Accept] or
// [Client.Decline]; the client never accepts on its own (spec A.2 [DRV-3]).
type ChatRequestEvent struct {
	From    string
	Session SessionID
}

// SessionState is where a 1:1 session stands, as the driver protocol names it (spec A.2).
type SessionState string

// Session states.
const (
	SessionRequested       SessionState = "requested"        // chat_request sent, waiting for the answer
	SessionDeclined        SessionState = "declined"         // the request was declined (either side)
	SessionHandshaking     SessionState = "handshaking"      // accepted; the handshake runs
	SessionSecured         SessionState = "secured"          // the handshake is confirmed: records flow
	SessionEnded           SessionState = "ended"            // ended with a verified close record
	SessionEndedUnverified SessionState = "ended_unverified" // chat_terminate came without close (REC-11)
	SessionFailed          SessionState = "failed"           // the handshake or a record was rejected, or timed out
)

// Ended reports whether the state is final.
func (s SessionState) Ended() bool {
	switch s {
	case SessionDeclined, SessionEnded, SessionEndedUnverified, SessionFailed:
		return true
	}
	return false
}

// SessionEvent reports a session's change of state. Secured sessions are end-to-end encrypted
// with PeerFingerprint, the peer's pinned identity (spec §9 [CLI-1]).
type SessionEvent struct {
	Session         SessionID
	Peer            string
	State           SessionState
	Initiator       bool   // this side asked for the session
	PeerFingerprint string // the fingerprint of the peer's pinned identity key
	Reason          string // why a session failed or ended, for people
}

// MessageEvent is a message received in a 1:1 session, after its record was authenticated.
type MessageEvent struct {
	Session SessionID
	From    string
	Text    string
	N       uint64    // the record counter
	SentAt  time.Time // the sender's clock
}

// GroupMembersEvent is the relay's announcement of a group's members (spec §5.9). The members
// are not yet keyed: a GroupEvent follows when an epoch that lists them is accepted.
type GroupMembersEvent struct {
	Group   string
	Epoch   uint64 // the relay's epoch
	Members []string
}

// GroupEvent reports a new group epoch the client accepted (or committed): from now on, group
// messages are encrypted for exactly Members. Holding the epoch does not mean the others do:
// SecuredWith lists the other members that showed they hold it (at first only the committer),
// Missing the rest, and a GroupSecuredEvent follows each change (spec §9 [CLI-31]).
type GroupEvent struct {
	Group       string
	Epoch       uint64
	Members     []string
	Committer   string
	SecuredWith []string
	Missing     []string
}

// GroupLeftEvent reports that the client is no longer in a group (it left, or the connection
// ended); the epoch secret is erased.
type GroupLeftEvent struct {
	Group string
}

// GroupMessageEvent is a group message, after its signature and tag were verified.
type GroupMessageEvent struct {
	Group  string
	From   string
	Text   string
	Epoch  uint64
	N      uint64
	SentAt time.Time
}

// PinEvent reports that a peer's identity key was pinned: for the first time (spec §6.6
// [TRUST-1]), or again after the user re-trusted a changed key (Replaced).
type PinEvent struct {
	Peer        string
	Fingerprint string
	Replaced    bool   // the user explicitly trusted a new key in place of an old pin
	Source      string // "directory" (get_pubkey) or "commit" (a group commit listed it)
}

// SafetyNumberEvent carries a safety number the user asked for (spec §6.6 [TRUST-4]).
type SafetyNumberEvent struct {
	Peer   string
	Digits string // 60 digits without separators; see [FormatSafetyNumber]
}

// SecurityEvent is a rejection the client made: a record, handshake message, commit, group
// message or key that failed a check of the specification. Every one is reported (spec §9
// [CLI-2], A.2 [DRV-2]).
type SecurityEvent struct {
	Code    e2ee.Outcome // the outcome code of spec A.4
	Rule    string       // the rule id that required the rejection
	Peer    string       // the user involved, if any
	Session SessionID    // the 1:1 session involved; zero when none
	Group   string       // the group involved, if any
	Detail  string       // for people; never a secret
}

// ServerErrorEvent reports a request the relay refused when no caller was waiting for the
// answer (for example a handshake message to a peer who went offline).
type ServerErrorEvent struct {
	For     string // the type of the refused request
	Code    string // the error code of spec §5.7
	Message string
	Peer    string
	Session SessionID
	Group   string
}

func (ConnectionEvent) isEvent()   {}
func (UsersEvent) isEvent()        {}
func (ChatRequestEvent) isEvent()  {}
func (SessionEvent) isEvent()      {}
func (MessageEvent) isEvent()      {}
func (GroupMembersEvent) isEvent() {}
func (GroupEvent) isEvent()        {}
func (GroupLeftEvent) isEvent()    {}
func (GroupMessageEvent) isEvent() {}
func (PinEvent) isEvent()          {}
func (SafetyNumberEvent) isEvent() {}
func (SecurityEvent) isEvent()     {}
func (ServerErrorEvent) isEvent()  {}

// FormatSafetyNumber writes 60 digits as 12 groups of 5 separated by spaces (spec §6.6).
func FormatSafetyNumber(digits string) string { return trust.FormatSafetyNumber(digits) }

// String describes the rejection for people.
func (e SecurityEvent) String() string {
	s := fmt.Sprintf("security: %s [%s]", string(e.Code), e.Rule)
	if e.Peer != "" {
		s += " peer=" + e.Peer
	}
	if e.Group != "" {
		s += " group=" + e.Group
	}
	if !e.Session.IsZero() {
		s += " session=" + e.Session.String()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}
