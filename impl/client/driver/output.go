package driver

import (
	"encoding/json"
	"maps"
)

// The shapes of schemas/driver/output.json, in the member order of the schema.

// okResponse answers a command that succeeded (spec A.1); only the results of that command are
// present.
type okResponse struct {
	ID          string    `json:"id"`
	OK          bool      `json:"ok"`
	IdentityKey string    `json:"identity_key,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Users       *[]string `json:"users,omitempty"`
	Session     string    `json:"session,omitempty"`
	N           *uint64   `json:"n,omitempty"`
	Digits      string    `json:"digits,omitempty"`
	Epoch       *uint64   `json:"epoch,omitempty"`
	// The optional history commands (spec A.1, CLI-24).
	Conversations *[]conversationLine   `json:"conversations,omitempty"`
	Messages      *[]historyMessageLine `json:"messages,omitempty"`

	extra Results // the results of an optional command (spec A.5)
}

// MarshalJSON writes the members above, then the results of an optional command.
func (r okResponse) MarshalJSON() ([]byte, error) {
	type plain okResponse
	data, err := json.Marshal(plain(r))
	if err != nil || len(r.extra) == 0 {
		return data, err
	}
	var members map[string]any
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, err
	}
	maps.Copy(members, r.extra)
	members["id"], members["ok"] = r.ID, true
	return json.Marshal(members)
}

// conversationLine is one conversation of the conversations command.
type conversationLine struct {
	Peer   string `json:"peer,omitempty"`
	Group  string `json:"group,omitempty"`
	Unread int    `json:"unread"`
	LastAt int64  `json:"last_at"`
}

// historyMessageLine is one message of the history command.
type historyMessageLine struct {
	From      string `json:"from"`
	Text      string `json:"text"`
	At        int64  `json:"at"`
	N         uint64 `json:"n"`
	Direction string `json:"direction"`
	State     string `json:"state,omitempty"`
}

// failure answers a command that failed (spec A.1); without an id it answers a line that is not
// a JSON object with a valid id (DRV-6).
type failure struct {
	ID      string `json:"id,omitempty"`
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

// The error codes of a failure besides the outcome and server codes (spec A.1).
const (
	codeUnimplemented  = "unimplemented"
	codeBadCommand     = "bad_command"
	codeTLSPinMismatch = "tls_pin_mismatch" // connect: the server's certificate has another pin (DRV-7)
	codeConnectFailed  = "connect_failed"   // connect: the relay could not be reached (DRV-7)
)

// codedError carries a driver failure code that no client error type names.
type codedError struct {
	code string
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

type chatRequestEvent struct {
	Event   string `json:"event"`
	From    string `json:"from"`
	Session string `json:"session"`
}

type sessionEvent struct {
	Event   string `json:"event"`
	Session string `json:"session"`
	Peer    string `json:"peer"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"` // spec A.2, CLI-20
}

// deliveryEvent reports how far a sent message got (spec A.2 [DRV-20]).
type deliveryEvent struct {
	Event   string `json:"event"`
	Session string `json:"session"`
	Peer    string `json:"peer"`
	N       uint64 `json:"n"`
	State   string `json:"state"`
}

type messageEvent struct {
	Event   string `json:"event"`
	Session string `json:"session"`
	From    string `json:"from"`
	Text    string `json:"text"`
	N       uint64 `json:"n"`
}

type groupEvent struct {
	Event       string   `json:"event"`
	Group       string   `json:"group"`
	Epoch       uint64   `json:"epoch"`
	Members     []string `json:"members"`
	SecuredWith []string `json:"secured_with"` // spec A.2 [DRV-34]: always present, [] when empty
	Missing     []string `json:"missing"`
}

type groupMessageEvent struct {
	Event string `json:"event"`
	Group string `json:"group"`
	From  string `json:"from"`
	Text  string `json:"text"`
	Epoch uint64 `json:"epoch"`
	N     uint64 `json:"n"`
}

type securityEvent struct {
	Event   string `json:"event"`
	Code    string `json:"code"`
	Rule    string `json:"rule"`
	Peer    string `json:"peer,omitempty"`
	Session string `json:"session,omitempty"`
	Group   string `json:"group,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// pinnedEvent reports a pinned identity key (spec A.2, TRUST-1, TRUST-2).
type pinnedEvent struct {
	Event       string `json:"event"`
	Peer        string `json:"peer"`
	Fingerprint string `json:"fingerprint"`
	Reason      string `json:"reason"`
}

type disconnectedEvent struct {
	Event  string `json:"event"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}
