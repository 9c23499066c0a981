package client

import (
	"errors"
	"fmt"
)

// Errors a caller branches on. Rejections by the protocol are *e2ee.Error values (use
// e2ee.OutcomeOf), and refusals by the relay are *ServerError values.
var (
	// ErrNotConnected means the client has no registered connection right now (it is
	// reconnecting, or it was closed).
	ErrNotConnected = errors.New("client: not connected")
	// ErrClosed means Close was called.
	ErrClosed = errors.New("client: closed")
	// ErrUnknownSession means no session has the given id.
	ErrUnknownSession = errors.New("client: unknown session")
	// ErrState means the operation is not allowed in the current state of the session, group or
	// client (for example Send before the session is secured).
	ErrState = errors.New("client: not allowed in this state")
	// ErrBadArgument means an argument is malformed (a username, group name or text that the
	// protocol does not allow).
	ErrBadArgument = errors.New("client: bad argument")
	// ErrDeclined means the peer declined the chat request.
	ErrDeclined = errors.New("client: chat request declined")
	// ErrUndelivered means a message got no receipt from the peer's client: it may not have
	// arrived (spec §6.7).
	ErrUndelivered = errors.New("client: not confirmed delivered")
)

// ServerError is a request the relay refused with an error message (spec §5.7).
type ServerError struct {
	For     string // the type of the refused request
	Code    string // the error code of spec §5.7; an error with another code fails its request as malformed (ERR-5)
	Message string // the relay's explanation, for people
}

// Error returns "client: relay refused TYPE: CODE: MESSAGE".
func (e *ServerError) Error() string {
	return fmt.Sprintf("client: relay refused %s: %s: %s", e.For, e.Code, e.Message)
}

// serverErrorCodes is the closed set of spec §5.7.
var serverErrorCodes = map[string]bool{
	"bad_message": true, "out_of_order": true, "bad_proof": true, "identity_mismatch": true,
	"server_full": true, "unknown_user": true, "user_offline": true, "bad_target": true,
	"too_large": true, "rate_limited": true, "not_member": true, "already_member": true,
	"stale_epoch": true, "bad_members": true, "limit_exceeded": true, "internal": true,
	"invite_required": true, "bad_invite": true, // spec §5.2.1
}

// normalizeCode returns code, or "internal" for a code outside spec §5.7. Such an error fails
// its schema and is reported as malformed before it gets here (ERR-5); this is defence in depth.
func normalizeCode(code string) string {
	if serverErrorCodes[code] {
		return code
	}
	return "internal" // spec §5.7 [ERR-5]
}

// IsServerError reports whether err is a relay refusal with the given code.
func IsServerError(err error, code string) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Code == code
}
