// Package forwarder is the typical forwarder the relay, latency and idle figures are also
// compared with (README "Performance"; the baseline is package coalesce). It is a minimal
// WebSocket forwarder on gorilla/websocket and crypto/tls, used the plain way (default buffers,
// one goroutine per connection reading with ReadMessage, one WriteMessage and so one TLS record
// and one system call per message), with no validation, no authentication, no
// acknowledgements, no flow control and no limits:
//
//   - wss://HOST/?pair=K: the first two connections that name K are paired; every message one
//     of them sends is written, unchanged, to the other;
//   - wss://HOST/?group=G: every message a member of G sends is written to every other member;
//   - any other path or query: the connection is upgraded and then only read (the connect and
//     idle baselines).
//
// It serves TLS 1.3 with a certificate of the same kind as the reference server's (generated
// by internal/tlspin), selects the subprotocol blindpost.v1, and does nothing else.
package forwarder

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Config says where the forwarder listens and keeps its certificate.
type Config struct {
	Listen  string       // host:port; "127.0.0.1:0" picks a port
	DataDir string       // where the certificate is generated or found (tlspin.LoadOrCreate)
	Logger  *slog.Logger // nil discards
}

// Forwarder is a running or ready baseline forwarder.
type Forwarder struct {
	cfg      Config
	log      *slog.Logger
	id       *tlspin.Identity
	upgrader websocket.Upgrader
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}

	mu     sync.Mutex
	closed bool               // Close has begun: no new connection is served
	pairs  map[string]*peer   // first of a pair, waiting for the second
	groups map[string]*member // the newest member of each group
	conns  map[*websocket.Conn]struct{}
	wg     sync.WaitGroup
}

// peer is one connection and the connection its messages go to.
type peer struct {
	ws    *websocket.Conn
	wmu   sync.Mutex // one writer at a time (gorilla allows one)
	other atomic.Pointer[peer]
}

// member is one connection of a group; the members of a group form a list through prev, newest
// first, which only grows while the group is in use.
type member struct {
	peer
	prev *member
	head *atomic.Pointer[member] // the group's newest member
}

// New loads or generates the certificate in cfg.DataDir.
func New(cfg Config) (*Forwarder, error) {
	if cfg.Listen == "" || cfg.DataDir == "" {
		return nil, errors.New("forwarder: a listen address and a data directory are required")
	}
	id, err := tlspin.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("forwarder: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{
		cfg: cfg, log: log, id: id, done: make(chan struct{}),
		// The plain gorilla configuration: default buffers (those of the hijacked HTTP
		// connection are reused), no compression.
		upgrader: websocket.Upgrader{
			Subprotocols: []string{wire.Subprotocol},
			CheckOrigin:  func(*http.Request) bool { return true },
		},
		pairs:  map[string]*peer{},
		groups: map[string]*member{},
		conns:  map[*websocket.Conn]struct{}{},
	}, nil
}

// Start listens and serves in the background.
func (f *Forwarder) Start() error {
	ln, err := net.Listen("tcp", f.cfg.Listen)
	if err != nil {
		return fmt.Errorf("forwarder: listen on %s: %w", f.cfg.Listen, err)
	}
	f.ln = tls.NewListener(ln, &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{f.id.Cert},
		NextProtos:   []string{"http/1.1"},
	})
	f.srv = &http.Server{Handler: http.HandlerFunc(f.handle), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(f.log.Handler(), slog.LevelDebug)}
	go func() {
		defer close(f.done)
		_ = f.srv.Serve(f.ln)
	}()
	return nil
}

// URL returns wss://ADDR/.
func (f *Forwarder) URL() string { return "wss://" + f.ln.Addr().String() + "/" }

// Pin returns the pin of the forwarder's certificate.
func (f *Forwarder) Pin() tlspin.Pin { return f.id.Pin }

// Run starts the forwarder and serves until ctx is done.
func (f *Forwarder) Run(ctx context.Context) error {
	if err := f.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return f.Close()
}

// Close stops listening and drops every connection.
func (f *Forwarder) Close() error {
	err := f.srv.Close()
	<-f.done
	f.mu.Lock()
	f.closed = true
	for ws := range f.conns {
		ws.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	if err != nil {
		return fmt.Errorf("forwarder: %w", err)
	}
	return nil
}

func (f *Forwarder) handle(w http.ResponseWriter, r *http.Request) {
	ws, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		ws.Close()
		return
	}
	f.conns[ws] = struct{}{}
	f.wg.Add(1)
	f.mu.Unlock()
	defer func() {
		ws.Close()
		f.mu.Lock()
		delete(f.conns, ws)
		f.mu.Unlock()
		f.wg.Done()
	}()
	q := r.URL.Query()
	switch {
	case q.Has("pair"):
		f.pair(ws, q.Get("pair"))
	case q.Has("group"):
		f.group(ws, q.Get("group"))
	default:
		readOnly(ws)
	}
}

// pair pairs ws with the other connection that names key, and forwards its messages there.
func (f *Forwarder) pair(ws *websocket.Conn, key string) {
	p := &peer{ws: ws}
	f.mu.Lock()
	if first := f.pairs[key]; first != nil {
		delete(f.pairs, key)
		first.other.Store(p)
		p.other.Store(first)
	} else {
		f.pairs[key] = p
	}
	f.mu.Unlock()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			f.mu.Lock()
			if f.pairs[key] == p {
				delete(f.pairs, key)
			}
			f.mu.Unlock()
			return
		}
		if o := p.other.Load(); o != nil {
			o.write(typ, data)
		}
	}
}

// group adds ws to group name and writes its messages to every other member.
func (f *Forwarder) group(ws *websocket.Conn, name string) {
	f.mu.Lock()
	g := f.groups[name]
	head := new(atomic.Pointer[member])
	if g != nil {
		head = g.head
	}
	m := &member{peer: peer{ws: ws}, prev: g, head: head}
	f.groups[name] = m
	head.Store(m)
	f.mu.Unlock()
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		for o := head.Load(); o != nil; o = o.prev {
			if o != m {
				o.write(typ, data)
			}
		}
	}
}

// write sends one message to p; a failed write is p's reader's problem (it sees the close).
func (p *peer) write(typ int, data []byte) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.WriteMessage(typ, data)
}

// readOnly reads and drops messages until the connection ends.
func readOnly(ws *websocket.Conn) {
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}
