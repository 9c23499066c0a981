package natsbase

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Conn is one benchmark endpoint on the NATS server: a NATS connection over wss:// that
// receives what is published to its own subject and publishes to one other.
type Conn struct {
	nc     *nats.Conn
	sub    *nats.Subscription
	to     string
	ctx    context.Context
	cancel context.CancelFunc
}

// Dial connects to url (wss://…) with tlsCfg, subscribes to subject own and returns once the
// server has the subscription, so that nothing published to own afterwards is missed.
// Messages written go to subject to.
func Dial(ctx context.Context, url string, tlsCfg *tls.Config, own, to string) (*Conn, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	nc, err := nats.Connect(url, nats.Secure(tlsCfg), nats.Timeout(timeout), nats.NoReconnect(),
		nats.Name(own), nats.NoCallbacksAfterClientClose())
	if err != nil {
		return nil, fmt.Errorf("natsbase: connect to %s: %w", url, err)
	}
	sub, err := nc.SubscribeSync(own)
	if err == nil {
		// Unbounded on the client side: the load generator's window bounds what is pending.
		err = sub.SetPendingLimits(-1, -1)
	}
	if err == nil {
		err = nc.FlushWithContext(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsbase: subscribe to %s: %w", own, err)
	}
	c := &Conn{nc: nc, sub: sub, to: to}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Write publishes frame to the partner's subject. The client copies it into its buffer and
// flushes in the background, as every NATS client does.
func (c *Conn) Write(frame []byte) error {
	if err := c.nc.Publish(c.to, frame); err != nil {
		return fmt.Errorf("natsbase: publish: %w", err)
	}
	return nil
}

// Read returns the next message published to the connection's subject.
func (c *Conn) Read() ([]byte, error) {
	m, err := c.sub.NextMsgWithContext(c.ctx)
	if err != nil {
		return nil, fmt.Errorf("natsbase: %w", err)
	}
	return m.Data, nil
}

// Close ends the connection; a Read waiting returns an error.
func (c *Conn) Close() error {
	c.cancel()
	c.nc.Close()
	return nil
}
