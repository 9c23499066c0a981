package load

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// Identity is a benchmark user: a username, its identity key, and its group key signature
// (spec §3.2), which a client computes once.
type Identity struct {
	User        string
	Key         *identity.PrivateKey
	GroupKeySig []byte
}

// seedLabel makes benchmark keys reproducible: the same name always gets the same key, so that a
// benchmark run again against a persistent relay registers instead of hitting
// identity_mismatch (spec §5.2 [REG-6]). These keys protect nothing.
const seedLabel = "blindpost-bench/1 identity "

// NewIdentity returns the benchmark identity of user.
func NewIdentity(user string) (Identity, error) {
	seed := sha256.Sum256([]byte(seedLabel + user))
	k, err := identity.FromSeed(seed[:])
	if err != nil {
		return Identity{}, fmt.Errorf("load: %w", err)
	}
	return Identity{User: user, Key: k, GroupKeySig: k.GroupKeySig(user)}, nil
}

// ServerError is an error message the relay answered a request with.
type ServerError struct {
	Code    string
	Message string
}

// Error returns "load: server error CODE: MESSAGE".
func (e *ServerError) Error() string { return "load: server error " + e.Code + ": " + e.Message }

// Register runs hello and register on c as id (spec §5.2), with the pin verified on c
// (REG-11), and returns when register_ack arrives. Nothing else may read c meanwhile.
func Register(ctx context.Context, c *Conn, id Identity) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.WS.SetReadDeadline(d)
		defer c.WS.SetReadDeadline(time.Time{})
	}
	if err := c.send(&wire.Hello{Protocol: wire.HelloProtocol, User: id.User}); err != nil {
		return err
	}
	m, err := c.expect()
	if err != nil {
		return err
	}
	ack, ok := m.(*wire.HelloAck)
	if !ok {
		return fmt.Errorf("load: got %s, want hello_ack", m.MessageType())
	}
	proof, err := id.Key.RegisterProof(ack.Challenge, c.Pin.Bytes(), id.User)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	err = c.send(&wire.Register{IdentityKey: id.Key.Public(), GroupKey: id.Key.GroupPublic(),
		GroupKeySig: id.GroupKeySig, Proof: proof})
	if err != nil {
		return err
	}
	if m, err = c.expect(); err != nil {
		return err
	}
	if _, ok := m.(*wire.RegisterAck); !ok {
		return fmt.Errorf("load: got %s, want register_ack", m.MessageType())
	}
	return nil
}

// Request sends m and returns the first answer that is not an announcement (group_members),
// reading nothing else meanwhile. An error message becomes a *ServerError.
func (c *Conn) Request(ctx context.Context, m wire.Message) (wire.Message, error) {
	if d, ok := ctx.Deadline(); ok {
		_ = c.WS.SetReadDeadline(d)
		defer c.WS.SetReadDeadline(time.Time{})
	}
	if err := c.send(m); err != nil {
		return nil, err
	}
	for {
		a, err := c.expect()
		if err != nil {
			return nil, err
		}
		if _, ok := a.(*wire.GroupMembers); !ok {
			return a, nil
		}
	}
}

func (c *Conn) send(m wire.Message) error {
	frame, err := wire.Encode(m)
	if err != nil {
		return fmt.Errorf("load: encode %s: %w", m.MessageType(), err)
	}
	return c.Write(frame)
}

// expect reads and decodes the next message; an error message becomes a *ServerError.
func (c *Conn) expect() (wire.Message, error) {
	frame, err := c.Read()
	if err != nil {
		return nil, fmt.Errorf("load: read: %w", err)
	}
	m, err := wire.Decode(wire.FromServer, frame)
	if err != nil {
		return nil, fmt.Errorf("load: the relay sent an invalid message: %w", err)
	}
	if e, ok := m.(*wire.ErrorMessage); ok {
		return nil, &ServerError{Code: string(e.Code), Message: e.Message}
	}
	return m, nil
}

// IsServerError reports whether err is the relay's error message with code.
func IsServerError(err error, code string) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Code == code
}

// Chat has a ask b, user bName, for a chat on session that b accepts, so that the relay forwards
// relay messages between them on it (spec §5.5 [SES-1] [SES-2]). Both connections have read
// everything the exchange brought them when it returns.
func Chat(ctx context.Context, a, b *Conn, aName, bName string, session []byte) error {
	if d, ok := ctx.Deadline(); ok {
		_ = a.WS.SetReadDeadline(d)
		_ = b.WS.SetReadDeadline(d)
		defer a.WS.SetReadDeadline(time.Time{})
		defer b.WS.SetReadDeadline(time.Time{})
	}
	if _, err := a.Request(ctx, &wire.ChatRequest{To: bName, Session: session}); err != nil {
		return fmt.Errorf("load: chat_request to %s: %w", bName, err)
	}
	if m, err := b.expect(); err != nil {
		return fmt.Errorf("load: %s waiting for chat_request: %w", bName, err)
	} else if _, ok := m.(*wire.IncomingChatRequest); !ok {
		return fmt.Errorf("load: %s got %s instead of chat_request", bName, m.MessageType())
	}
	if _, err := b.Request(ctx, &wire.ChatResponse{To: aName, Session: session, Accepted: true}); err != nil {
		return fmt.Errorf("load: chat_response to %s: %w", aName, err)
	}
	if m, err := a.expect(); err != nil {
		return fmt.Errorf("load: %s waiting for chat_response: %w", aName, err)
	} else if _, ok := m.(*wire.IncomingChatResponse); !ok {
		return fmt.Errorf("load: %s got %s instead of chat_response", aName, m.MessageType())
	}
	return nil
}
