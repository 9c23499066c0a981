package server

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/wire"
)

// challengeSize is the size of the registration challenge (spec §5.2 [REG-1]).
const challengeSize = 32

// handleUnregistered runs the registration of spec §5.2: hello, then register; anything else
// before registration is out of order and closes with 1008 (REG-8).
func (c *conn) handleUnregistered(msg wire.Message, id string, typ wire.RequestType) {
	switch m := msg.(type) {
	case *wire.Hello:
		if c.state == stateNew {
			c.hello(m)
			return
		}
	case *wire.Register:
		if c.state == stateHello {
			c.register(m)
			return
		}
	}
	// spec §5.2 [REG-8]: a second hello, a register before hello, or any other message.
	c.s.metrics.Registrations.WithLabelValues("out_of_order").Inc()
	c.failAndClose(id, typ, errOutOfOrder, "register with hello then register first", closePolicy)
}

// hello answers with a fresh challenge and the server's limits (spec §5.2 [REG-1], §5.8).
func (c *conn) hello(m *wire.Hello) {
	challenge := make([]byte, challengeSize)
	rand.Read(challenge) // spec §5.2 [REG-1]: crypto/rand never fails
	c.state, c.user, c.challenge = stateHello, m.User, challenge
	cfg := &c.s.cfg
	c.reply(&wire.HelloAck{
		ID:        m.ID,
		Challenge: challenge,
		Server:    Software,
		Limits: wire.Limits{
			MaxMessage:      int64(cfg.MaxMessage),
			Rate:            int64(cfg.Rate),
			Burst:           int64(cfg.Burst),
			MaxGroups:       int64(cfg.MaxGroups),
			MaxGroupMembers: int64(cfg.MaxGroupMembers),
			// spec §4.2 [WS-7], [WS-9]: the timers, announced so that clients and the
			// conformance runner need not guess them.
			PingIntervalMs:    cfg.PingInterval.Milliseconds(),
			PongTimeoutMs:     cfg.PongTimeout.Milliseconds(),
			RegisterTimeoutMs: cfg.RegisterTimeout.Milliseconds(),
		},
	})
}

// register checks the proof of possession and binds the username (spec §5.2).
func (c *conn) register(m *wire.Register) {
	// spec §5.2 [REG-2]: the challenge is used once, on this connection only.
	challenge := c.challenge
	c.challenge = nil
	// spec §5.2 [REG-2], §4.2 [WS-9]: not after the registration deadline.
	if !c.reg.CompareAndSwap(regPending, regClaimed) {
		return // the deadline closed the connection already
	}
	// spec §5.2 [REG-4]: the group key signature must verify with the identity key. When the
	// directory holds exactly this identity key, group key and signature (a client registering
	// again), the signature verified when it was stored, and verifying it again would give the
	// same answer.
	entry := directory.Entry{User: c.user, IdentityKey: m.IdentityKey, GroupKey: m.GroupKey, GroupKeySig: m.GroupKeySig}
	known, err := c.s.dir.Holds(entry)
	if err != nil || !known {
		known = false
		if err := identity.VerifyGroupKeySig(c.user, m.IdentityKey, m.GroupKey, m.GroupKeySig); err != nil {
			c.registrationFailed(m.ID, errBadProof, "the group key signature does not verify")
			return
		}
	}
	// spec §5.2 [REG-3]: the proof covers this challenge, this server's pin, the user and both keys.
	if err := identity.VerifyRegisterProof(challenge, c.s.pin.Bytes(), c.user, m.IdentityKey, m.GroupKey, m.Proof); err != nil {
		c.registrationFailed(m.ID, errBadProof, "the registration proof does not verify")
		return
	}
	// A known binding is already recorded as it is (REG-5, REG-12): nothing to write but
	// when the name was last seen (spec §5.2.1 [INV-7]).
	if known {
		if err := c.s.dir.Touch(c.user); err != nil {
			c.log.Error("directory touch failed", "user", c.user, "err", err)
		}
	} else if !c.admitNew(m.ID) || !c.bind(m.ID, entry, directory.Admission{Policy: c.s.policy, Invite: m.Invite}) {
		return
	}
	c.state = stateRegistered
	c.regTimer.Stop() // the deadline lost the race (reg is claimed); drop the timer
	c.regTimer = nil
	old := c.s.hub.register(c, c.user)
	if !c.s.hub.claim(c) {
		// spec §5.11 [CLU-2]: a registration the cluster did not record is not answered.
		c.s.metrics.Registrations.WithLabelValues("internal").Inc()
		c.failAndClose(m.ID, wire.RequestTypeRegister, errInternal, "the relay could not record the connection in its cluster; try again", closeInternal)
		if old != nil {
			old.requestClose(CloseReplaced, "replaced by a newer connection")
		}
		return
	}
	c.s.metrics.Registrations.WithLabelValues("ok").Inc()
	c.log.Info("registered", "user", c.user, "replaced", old != nil)
	c.reply(&wire.RegisterAck{ID: m.ID, User: c.user, Fingerprint: identity.Fingerprint(m.IdentityKey)})
	if old != nil {
		// spec §5.2 [REG-7]: the older connection closes with 4001 once the newer is registered.
		old.requestClose(CloseReplaced, "replaced by a newer connection")
	}
}

// admitNew applies the registration rate limits of spec §5.2.1 [INV-5] to a registration whose
// name is not bound yet; on a closed relay the policy refuses it without drawing a token.
func (c *conn) admitNew(id string) bool {
	if c.s.policy == directory.PolicyClosed {
		return true // bind refuses it (INV-1)
	}
	if bound, err := c.s.dir.Exists(c.user); err != nil || bound {
		return true // a bound name costs no directory slot; bind reports a failing directory
	}
	ok, err := c.s.regLimit.allow(c.remote, time.Now())
	switch {
	case err != nil:
		// The cluster's limit cannot be read: the store fails, as bind's would (spec §5.7).
		c.directoryFailed(id, fmt.Errorf("the cluster's registration limit: %w", err))
	case !ok:
		// spec §5.2.1 [INV-5]
		c.registrationFailed(id, errRateLimited, "too many new names were registered from this address or on this relay; try again later")
	}
	return ok
}

// bind records the binding in the directory (spec §5.2 [REG-5] [REG-6] [REG-12] [REG-13],
// §5.2.1 [INV-1] [INV-2] [INV-3] [INV-4]).
func (c *conn) bind(id string, e directory.Entry, a directory.Admission) bool {
	_, err := c.s.dir.Bind(e, a)
	switch {
	case err == nil:
		return true
	case errors.Is(err, directory.ErrIdentityMismatch):
		// spec §5.2 [REG-6]
		c.registrationFailed(id, errIdentityMismatch, c.user+" is bound to another identity key")
	case errors.Is(err, directory.ErrFull):
		// spec §5.2 [REG-13]
		c.registrationFailed(id, errServerFull, "the directory is full")
	case errors.Is(err, directory.ErrClosed):
		// spec §5.2.1 [INV-1]
		c.registrationFailed(id, errServerFull, "this relay registers no new names")
	case errors.Is(err, directory.ErrInviteRequired):
		// spec §5.2.1 [INV-2]
		c.registrationFailed(id, wire.ErrorCodeInviteRequired, "this relay registers new names with an invite only")
	case errors.Is(err, directory.ErrBadInvite):
		// spec §5.2.1 [INV-3]
		c.registrationFailed(id, wire.ErrorCodeBadInvite, "the invite is unknown, used up or expired")
	default:
		c.directoryFailed(id, err)
	}
	return false
}

// directoryFailed answers a registration that the directory could not record: internal, which
// the client may retry (spec §5.7), and close 1011.
func (c *conn) directoryFailed(id string, err error) {
	c.s.metrics.DirectoryFailures.Inc()
	c.log.Error("directory bind failed", "user", c.user, "err", err)
	c.s.metrics.Registrations.WithLabelValues("internal").Inc()
	c.failAndClose(id, wire.RequestTypeRegister, errInternal, "the server could not record the registration; try again", closeInternal)
}

// registrationFailed sends the error and closes with 1008 (spec §5.2, §5.7 [ERR-2]).
func (c *conn) registrationFailed(id string, code wire.ErrorCode, text string) {
	c.s.metrics.Registrations.WithLabelValues(string(code)).Inc()
	c.log.Info("registration refused", "user", c.user, "code", code)
	c.failAndClose(id, wire.RequestTypeRegister, code, text, closePolicy)
}
