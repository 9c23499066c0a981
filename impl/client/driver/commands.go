package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// connect dials the relay trusting exactly the given pin, and registers (spec A.1, DRV-5).
func (d *driver) connect(ctx context.Context, c command, r *okResponse) error {
	d.mu.Lock()
	old := d.c
	d.mu.Unlock()
	if old != nil {
		select {
		case <-old.Done():
			d.disconnect() // the old connection is over for good: start afresh
		default:
			return fmt.Errorf("driver: already connected as %s: %w", old.User(), client.ErrState)
		}
	}
	pin, err := tlstrust.ParsePin(c.Pin)
	if err != nil {
		return errors.Join(client.ErrBadArgument, err)
	}
	seed, err := decodeSeed(c.Seed)
	if err != nil {
		return err
	}
	var id *identity.PrivateKey
	if seed != nil {
		id, err = identity.FromSeed(seed) // spec A.2 [DRV-5]
	} else {
		id, err = identity.Generate(nil)
	}
	if err != nil {
		return err
	}
	opts := client.Options{
		URL:            c.URL,
		User:           c.User,
		Identity:       id,
		TLS:            tlstrust.Policy{Pin: &pin},
		KnownPeersFile: d.opts.PeersFile,
		NoReconnect:    !d.opts.Reconnect,
		PollUsers:      -1,
		Logger:         d.log,
		History:        d.opts.History,
	}
	if d.opts.Configure != nil {
		d.opts.Configure(&opts)
	}
	cl, err := client.Dial(ctx, opts)
	if err != nil {
		return connectError(err)
	}
	if err := d.attach(cl); err != nil {
		cl.Close()
		return err
	}
	r.IdentityKey = encodeKey(id.Public())
	r.Fingerprint = identity.Fingerprint(id.Public())
	return nil
}

func (d *driver) listUsers(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	users, _, err := cl.ListUsers(ctx)
	if err != nil {
		return err
	}
	if users == nil {
		users = []string{}
	}
	r.Users = &users
	return nil
}

func (d *driver) chat(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	sid, err := cl.Chat(ctx, c.Peer)
	if err != nil {
		return err
	}
	r.Session = sid.String()
	return nil
}

// sessionCommand runs a command that names a session.
func (d *driver) sessionCommand(c command, run func(*client.Client, client.SessionID) error) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	sid, err := client.ParseSessionID(c.Session)
	if err != nil {
		return errors.Join(client.ErrBadArgument, err)
	}
	return run(cl, sid)
}

// accept is the only way a chat request is accepted (spec A.2 [DRV-3]).
func (d *driver) accept(ctx context.Context, c command, r *okResponse) error {
	return d.sessionCommand(c, func(cl *client.Client, sid client.SessionID) error { return cl.Accept(ctx, sid) })
}

func (d *driver) decline(ctx context.Context, c command, r *okResponse) error {
	return d.sessionCommand(c, func(cl *client.Client, sid client.SessionID) error { return cl.Decline(ctx, sid) })
}

func (d *driver) send(ctx context.Context, c command, r *okResponse) error {
	return d.sessionCommand(c, func(cl *client.Client, sid client.SessionID) error {
		n, err := cl.Send(ctx, sid, c.Text)
		if err == nil {
			r.N = &n
		}
		return err
	})
}

func (d *driver) end(ctx context.Context, c command, r *okResponse) error {
	return d.sessionCommand(c, func(cl *client.Client, sid client.SessionID) error { return cl.End(ctx, sid) })
}

func (d *driver) safetyNumber(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	digits, err := cl.SafetyNumber(ctx, c.Peer)
	if err != nil {
		return err
	}
	r.Digits = digits
	return nil
}

func (d *driver) trust(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	return cl.Trust(ctx, c.Peer)
}

func (d *driver) groupJoin(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	return cl.JoinGroup(ctx, c.Group)
}

func (d *driver) groupLeave(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	return cl.LeaveGroup(ctx, c.Group)
}

func (d *driver) groupSend(ctx context.Context, c command, r *okResponse) error {
	cl, err := d.client()
	if err != nil {
		return err
	}
	epoch, n, err := cl.GroupSend(ctx, c.Group, c.Text)
	if err != nil {
		return err
	}
	r.Epoch, r.N = &epoch, &n
	return nil
}

// quit disconnects; Run returns after the response is written (spec A.1).
func (d *driver) quit(ctx context.Context, c command, r *okResponse) error {
	d.disconnect()
	d.mu.Lock()
	d.over = true
	d.mu.Unlock()
	return nil
}

// errNoHistory answers the optional history commands when the driver keeps no history.
var errNoHistory = errors.New("driver: no local history (it is off)")

// conversations lists the conversations of the local history (spec A.1, optional).
func (d *driver) conversations(ctx context.Context, c command, r *okResponse) error {
	if d.opts.History == nil {
		return errNoHistory
	}
	out := []conversationLine{}
	for _, cv := range d.opts.History.Conversations() {
		out = append(out, conversationLine{Peer: cv.Peer, Group: cv.Group, Unread: cv.Unread, LastAt: max(cv.LastAt.UnixMilli(), 0)})
	}
	r.Conversations = &out
	return nil
}

// history returns the messages of one conversation and marks it read (spec A.1, optional).
func (d *driver) history(ctx context.Context, c command, r *okResponse) error {
	if d.opts.History == nil {
		return errNoHistory
	}
	if (c.Peer == "") == (c.Group == "") {
		return fmt.Errorf("driver: history names exactly one of peer and group: %w", client.ErrBadArgument)
	}
	out := []historyMessageLine{}
	for _, m := range d.opts.History.Messages(c.Peer, c.Group, c.Limit) {
		line := historyMessageLine{From: m.From, Text: m.Text, At: max(m.At.UnixMilli(), 0), N: m.N, Direction: m.Direction}
		if c.Peer != "" && m.Direction == "out" {
			line.State = m.State
		}
		out = append(out, line)
	}
	r.Messages = &out
	return d.opts.History.MarkRead(c.Peer, c.Group)
}

// connectError gives a failed connect its code (spec A.1 [DRV-7]): tls_pin_mismatch when the
// certificate has another pin, connect_failed when the relay could not be reached or the TLS or
// WebSocket handshake failed otherwise; a refused registration keeps the relay's code.
func connectError(err error) error {
	var pm *tlstrust.PinMismatchError
	var se *client.ServerError
	switch {
	case errors.As(err, &pm):
		return &codedError{codeTLSPinMismatch, err}
	case errors.As(err, &se), errors.Is(err, client.ErrBadArgument), errors.Is(err, context.Canceled):
		return err
	}
	if _, ok := e2ee.OutcomeOf(err); ok {
		return err
	}
	return &codedError{codeConnectFailed, err}
}
