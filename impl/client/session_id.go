package client

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// SessionID is the 16-byte id of a 1:1 session (spec §5.1, §6.1).
type SessionID [16]byte

// newSessionID draws a fresh session id from crypto/rand (spec §6.1 [HS-1]).
func newSessionID() SessionID {
	var id SessionID
	rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	return id
}

// ParseSessionID parses the standard padded base64 form of a session id.
func ParseSessionID(s string) (SessionID, error) {
	var id SessionID
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(id) || base64.StdEncoding.EncodeToString(b) != s {
		return id, fmt.Errorf("client: %q is not a session id (16 bytes in canonical base64)", s)
	}
	copy(id[:], b)
	return id, nil
}

// String returns the standard padded base64 form, as on the wire.
func (id SessionID) String() string { return base64.StdEncoding.EncodeToString(id[:]) }

// IsZero reports whether id is the zero value (no session).
func (id SessionID) IsZero() bool { return id == SessionID{} }
