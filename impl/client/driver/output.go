package driver

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
}

type messageEvent struct {
	Event   string `json:"event"`
	Session string `json:"session"`
	From    string `json:"from"`
	Text    string `json:"text"`
	N       uint64 `json:"n"`
}

type groupEvent struct {
	Event   string   `json:"event"`
	Group   string   `json:"group"`
	Epoch   uint64   `json:"epoch"`
	Members []string `json:"members"`
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
