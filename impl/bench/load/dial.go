// Package load opens and drives the connections of the benchmarks: TLS 1.3 and WebSocket to any
// relay URL (the certificate accepted by pin or by CA, never unverified: spec §4.1), from
// several local addresses in turn so that tens of thousands of loopback connections do not run
// out of ephemeral ports, registration with hello and register (spec §5.2), and the cheap
// reading and writing of the frames the scenarios time.
//
// The load generator shares the machine with the relay it measures, so the hot paths here
// allocate little and never decode a whole message: they find the members they need by
// scanning.
package load

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Trust says which server certificate the load generator accepts: the leaf whose SPKI hashes to
// Pin, or else a chain to Roots (nil: the system roots). spec §4.1 [TLS-2]
type Trust struct {
	Pin   *tlspin.Pin
	Roots *x509.CertPool
}

// Dialer opens connections to one relay URL.
type Dialer struct {
	URL   string
	Trust Trust
	// Sources are local addresses to dial from, one after the other; empty lets the system
	// choose. On loopback, 127.0.0.1 … 127.0.0.N multiply the ephemeral ports available.
	Sources []netip.Addr
	// Timeout bounds the TCP, TLS and WebSocket handshakes; 0 means 10 s.
	Timeout time.Duration
	// BufferSize is the read and the write buffer of each connection; 0 means 1024 bytes.
	BufferSize int

	next atomic.Uint64
}

// LoopbackSources returns 127.0.0.1 … 127.0.0.n.
func LoopbackSources(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
	}
	return out
}

// IsLoopback reports whether the host of rawURL is a loopback address or localhost.
func IsLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && a.IsLoopback()
}

// Conn is one open benchmark connection.
type Conn struct {
	WS  *websocket.Conn
	Pin tlspin.Pin // the pin of the certificate verified on this connection (REG-11)
	buf []byte
}

// Dial opens a connection to the URL with query appended ("" for none): TCP from the next
// source address, TLS 1.3 with the certificate checked, the WebSocket upgrade with the
// subprotocol blindpost.v1.
func (d *Dialer) Dial(ctx context.Context, query string) (*Conn, error) {
	target := d.URL
	if query != "" {
		target += "?" + query
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	hostport := u.Host
	if u.Port() == "" {
		hostport = net.JoinHostPort(u.Hostname(), "443")
	}
	tlsCfg, verification, err := tlstrust.Policy{Pin: d.Trust.Pin, Roots: d.Trust.Roots}.Config(hostport)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	nd := &net.Dialer{Timeout: timeout}
	if len(d.Sources) > 0 {
		src := d.Sources[d.next.Add(1)%uint64(len(d.Sources))]
		nd.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	size := d.BufferSize
	if size <= 0 {
		size = 1024
	}
	wd := tlspin.NewDialer(tlsCfg, timeout)
	wd.NetDialContext = nd.DialContext
	wd.ReadBufferSize, wd.WriteBufferSize = size, size
	ws, resp, err := wd.DialContext(ctx, target, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("load: dial %s: %w (HTTP %d)", d.URL, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("load: dial %s: %w", d.URL, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	v, ok := verification.Result()
	if !ok {
		ws.Close()
		return nil, errors.New("load: the TLS handshake verified no certificate")
	}
	return &Conn{WS: ws, Pin: v.Pin}, nil
}

// Write sends one text message.
func (c *Conn) Write(frame []byte) error {
	if err := c.WS.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("load: write: %w", err)
	}
	return nil
}

// Read returns the next message. The bytes are valid until the next Read.
func (c *Conn) Read() ([]byte, error) {
	_, r, err := c.WS.NextReader()
	if err != nil {
		return nil, err
	}
	if c.buf == nil {
		c.buf = make([]byte, 0, 1024)
	}
	b := c.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	c.buf = b
	return b, nil
}

// Close sends a normal close frame and drops the connection.
func (c *Conn) Close() error {
	_ = c.WS.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	return c.WS.Close()
}

// IsClose reports whether err is the end of a connection rather than a failure: a close frame
// with 1000 or 1001, or a connection this side closed.
func IsClose(err error) bool {
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) || errors.Is(err, net.ErrClosed)
}
