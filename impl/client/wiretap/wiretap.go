// Package wiretap is a WebSocket proxy that sits between Blindpost clients and a relay and
// reports every message that crosses it. It shows what the relay (and anyone who could read its
// traffic) sees: names, sizes and ciphertext, never a plaintext (spec §10). The demo and tests
// use it; it is not part of the protocol.
//
// The proxy terminates TLS with its own certificate, so the relay behind it must be configured
// with the proxy's pin, as for any TLS-terminating proxy (spec §4.1 [TLS-6]): registration
// proofs are bound to the pin the clients verified.
package wiretap

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Direction says which way a message went.
type Direction int

// The two directions of a proxied connection.
const (
	ToRelay  Direction = iota // client to relay
	ToClient                  // relay to client
)

// String returns "client->relay" or "relay->client".
func (d Direction) String() string {
	if d == ToRelay {
		return "client->relay"
	}
	return "relay->client"
}

// Frame is one WebSocket text message that crossed the proxy.
type Frame struct {
	Conn      int64     // the proxied connection, numbered from 1 in order of arrival
	Direction Direction // which way it went
	Data      []byte    // the JSON text, exactly as sent
}

// Options configures a proxy.
type Options struct {
	// Observe is called for every message, in order per connection, before it is forwarded. It
	// must not block for long.
	Observe func(Frame)
	// Intercept, when set, decides whether a message is forwarded: tests play a relay that drops
	// messages. It runs after Observe.
	Intercept func(Frame) bool
}

// link is one proxied connection: the client side (down) and the relay side (up), each written
// by one goroutine at a time.
type link struct {
	id       int64
	down, up *websocket.Conn
	downMu   sync.Mutex
	upMu     sync.Mutex
}

func (l *link) write(dir Direction, typ int, data []byte) error {
	conn, mu := l.up, &l.upMu
	if dir == ToClient {
		conn, mu = l.down, &l.downMu
	}
	mu.Lock()
	defer mu.Unlock()
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return conn.WriteMessage(typ, data)
}

// Proxy is a running tap.
type Proxy struct {
	opts        Options
	ln          net.Listener
	pin         tlstrust.Pin
	srv         *http.Server
	next        atomic.Int64
	wg          sync.WaitGroup
	mu          sync.Mutex
	conns       map[*websocket.Conn]struct{}
	links       map[int64]*link
	upstream    string
	upstreamPin tlstrust.Pin
}

// Listen starts a proxy on a free loopback port with a fresh self-signed certificate.
func Listen(opts Options) (*Proxy, error) {
	// The proxy's certificate, valid for the loopback addresses for a day.
	id, err := tlspin.Ephemeral("blindpost wiretap", 24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("wiretap: %w", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{id.Cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		return nil, fmt.Errorf("wiretap: %w", err)
	}
	p := &Proxy{opts: opts, ln: ln, pin: id.Pin, conns: map[*websocket.Conn]struct{}{}, links: map[int64]*link{}}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 5 * time.Second}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.srv.Serve(ln)
	}()
	return p, nil
}

// SetUpstream names the relay the proxy forwards to, and the pin of its certificate. The relay
// usually starts after the proxy, because it must be configured with the proxy's pin; clients
// that connect before SetUpstream are refused.
func (p *Proxy) SetUpstream(url string, pin tlstrust.Pin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upstream, p.upstreamPin = url, pin
}

// Pin returns the pin of the proxy's certificate: the clients trust it, and the relay must be
// configured with it (server.Config.PublicPin).
func (p *Proxy) Pin() tlstrust.Pin { return p.pin }

// URL returns the proxy's wss:// URL, for the clients.
func (p *Proxy) URL() string { return "wss://" + p.ln.Addr().String() + "/" }

// Close stops the proxy and every proxied connection.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// Drop cuts every proxied connection without a close frame, as a network failure does; the
// clients see close code 1006. New connections are accepted as before.
func (p *Proxy) Drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.NetConn().Close()
		delete(p.conns, c)
	}
}

var upgrader = websocket.Upgrader{
	Subprotocols: []string{wire.Subprotocol},
	CheckOrigin:  func(*http.Request) bool { return true },
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	down, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	up, err := p.dialUpstream()
	if err != nil {
		down.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, "relay unreachable"), time.Now().Add(time.Second))
		down.Close()
		return
	}
	l := &link{id: p.next.Add(1), down: down, up: up}
	p.mu.Lock()
	p.conns[down], p.conns[up] = struct{}{}, struct{}{}
	p.links[l.id] = l
	p.mu.Unlock()
	p.wg.Add(2)
	go p.pump(l, ToRelay, down)
	go p.pump(l, ToClient, up)
}

// Inject sends data on connection conn in direction dir as if the other end had sent it: a
// test plays a malicious relay (ToClient) or client (ToRelay). It is not reported to Observe.
func (p *Proxy) Inject(conn int64, dir Direction, data []byte) error {
	p.mu.Lock()
	l := p.links[conn]
	p.mu.Unlock()
	if l == nil {
		return fmt.Errorf("wiretap: no connection %d", conn)
	}
	return l.write(dir, websocket.TextMessage, data)
}

// InjectBinary is Inject with a binary message, which the protocol never uses (spec §4.2
// [WS-3]).
func (p *Proxy) InjectBinary(conn int64, dir Direction, data []byte) error {
	p.mu.Lock()
	l := p.links[conn]
	p.mu.Unlock()
	if l == nil {
		return fmt.Errorf("wiretap: no connection %d", conn)
	}
	return l.write(dir, websocket.BinaryMessage, data)
}

// dialUpstream connects to the relay, trusting exactly its pin.
func (p *Proxy) dialUpstream() (*websocket.Conn, error) {
	p.mu.Lock()
	url, pin := p.upstream, p.upstreamPin
	p.mu.Unlock()
	if _, err := tlstrust.HostPort(url); err != nil {
		return nil, fmt.Errorf("wiretap: no upstream: %w", err)
	}
	up, _, err := pin.Dialer(10*time.Second).Dial(url, nil)
	return up, err
}

// pump copies messages from src to the other side of l, reporting each, and passes the close
// code on.
func (p *Proxy) pump(l *link, dir Direction, src *websocket.Conn) {
	defer p.wg.Done()
	dst := l.up
	if dir == ToClient {
		dst = l.down
	}
	for {
		typ, data, err := src.ReadMessage()
		if err != nil {
			code, text := websocket.CloseAbnormalClosure, ""
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code, text = ce.Code, ce.Text
			}
			if code == websocket.CloseNoStatusReceived || code == websocket.CloseAbnormalClosure {
				dst.Close()
			} else {
				dst.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
			}
			src.Close()
			return
		}
		f := Frame{Conn: l.id, Direction: dir, Data: data}
		if p.opts.Observe != nil && typ == websocket.TextMessage {
			p.opts.Observe(f)
		}
		if p.opts.Intercept != nil && typ == websocket.TextMessage && !p.opts.Intercept(f) {
			continue
		}
		if err := l.write(dir, typ, data); err != nil {
			src.Close()
			return
		}
	}
}
