// Package coalesce is the strongest bare forwarder the benchmarks compare the relay with (README
// "Performance"): the work any WebSocket forwarder must do — read a message, find where it goes,
// write it there — done the way a careful engineer would, with nothing the relay does not do
// and the writes coalesced as the relay's are:
//
//   - each connection has a send queue; whoever queues the first message of a burst starts the
//     connection's writer goroutine, which takes everything queued, frames it into one pooled
//     buffer and writes it with one Write on the TLS connection (one TLS record per batch up to
//     16 KiB, one system call), and ends when the queue is empty, so that an idle connection
//     holds no writer and no write buffer;
//   - messages are read by gorilla/websocket into pooled buffers and handed to the destination's
//     queue without another copy (a group message is shared by its recipients, counted);
//   - TLS 1.3 with full-size records from the start, as the relay serves it.
//
// It has the routes of the typical forwarder (package forwarder) so that every scenario runs
// on it: wss://HOST/?pair=K pairs the first two connections naming K, ?group=G forwards to
// every other member of G, and any other connection is only read. It does no validation, no
// authentication, no acknowledgement and no flow control: the load generator's windows bound
// the queues.
package coalesce

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
	DataDir string       // where the certificate is generated or found
	Logger  *slog.Logger // nil discards
}

// Forwarder is a running or ready coalescing forwarder.
type Forwarder struct {
	cfg      Config
	log      *slog.Logger
	cert     tls.Certificate
	pin      string
	upgrader websocket.Upgrader
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}

	mu     sync.Mutex
	closed bool             // Close has begun: no new connection is served
	pairs  map[string]*conn // first of a pair, waiting for the second
	groups map[string]*group
	conns  map[*conn]struct{}
	wg     sync.WaitGroup
}

// group is the members of one ?group=, copied on write so that a sender reads it without a lock.
type group struct {
	members atomic.Pointer[[]*conn]
}

// New loads or generates the certificate in cfg.DataDir.
func New(cfg Config) (*Forwarder, error) {
	if cfg.Listen == "" || cfg.DataDir == "" {
		return nil, errors.New("coalesce: a listen address and a data directory are required")
	}
	// The same kind of certificate as the relay's, from the same code.
	id, err := tlspin.LoadOrCreate(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("coalesce: %w", err)
	}
	cert, pin := id.Cert, id.Pin.String()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Forwarder{
		cfg: cfg, log: log, cert: cert, pin: pin, done: make(chan struct{}),
		upgrader: websocket.Upgrader{
			Subprotocols: []string{wire.Subprotocol},
			CheckOrigin:  func(*http.Request) bool { return true },
			// gorilla writes only control frames here (WriteControl needs no write buffer);
			// the pool keeps it from giving every connection one at the upgrade.
			WriteBufferPool: &sync.Pool{},
		},
		pairs:  map[string]*conn{},
		groups: map[string]*group{},
		conns:  map[*conn]struct{}{},
	}, nil
}

// Start listens and serves in the background.
func (f *Forwarder) Start() error {
	ln, err := net.Listen("tcp", f.cfg.Listen)
	if err != nil {
		return fmt.Errorf("coalesce: listen on %s: %w", f.cfg.Listen, err)
	}
	f.ln = tls.NewListener(ln, TLSConfig(f.cert))
	f.srv = &http.Server{Handler: http.HandlerFunc(f.handle), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:     slog.NewLogLogger(f.log.Handler(), slog.LevelDebug),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	go func() {
		defer close(f.done)
		_ = f.srv.Serve(f.ln)
	}()
	return nil
}

// TLSConfig is the relay's TLS configuration (impl/server): TLS 1.3 only, HTTP/1.1 for the
// upgrade, full-size records from the start so that a batch leaves in one record.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:                  tls.VersionTLS13,
		Certificates:                []tls.Certificate{cert},
		NextProtos:                  []string{"http/1.1"},
		DynamicRecordSizingDisabled: true,
	}
}

// URL returns wss://ADDR/.
func (f *Forwarder) URL() string { return "wss://" + f.ln.Addr().String() + "/" }

// Pin returns the pin of the forwarder's certificate, sha256:….
func (f *Forwarder) Pin() string { return f.pin }

// Close stops listening and drops every connection.
func (f *Forwarder) Close() error {
	err := f.srv.Close()
	<-f.done
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.ws.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	if err != nil {
		return fmt.Errorf("coalesce: %w", err)
	}
	return nil
}

func (f *Forwarder) handle(w http.ResponseWriter, r *http.Request) {
	ws, err := f.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws, nc: ws.NetConn()}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		ws.Close()
		return
	}
	f.conns[c] = struct{}{}
	f.wg.Add(1)
	f.mu.Unlock()
	defer func() {
		c.shut()
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		f.wg.Done()
	}()
	q := r.URL.Query()
	switch {
	case q.Has("pair"):
		f.pair(c, q.Get("pair"))
	case q.Has("group"):
		f.group(c, q.Get("group"))
	default:
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	}
}

// pair pairs c with the other connection that names key, and forwards its messages there.
func (f *Forwarder) pair(c *conn, key string) {
	f.mu.Lock()
	if first := f.pairs[key]; first != nil {
		delete(f.pairs, key)
		first.other.Store(c)
		c.other.Store(first)
	} else {
		f.pairs[key] = c
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		if f.pairs[key] == c {
			delete(f.pairs, key)
		}
		f.mu.Unlock()
	}()
	for {
		m, err := c.read()
		if err != nil {
			return
		}
		if o := c.other.Load(); o != nil {
			o.send(m)
		} else {
			m.release()
		}
	}
}

// group adds c to group name and forwards its messages to every other member.
func (f *Forwarder) group(c *conn, name string) {
	f.mu.Lock()
	g := f.groups[name]
	if g == nil {
		g = &group{}
		f.groups[name] = g
	}
	var members []*conn
	if p := g.members.Load(); p != nil {
		members = append(members, *p...)
	}
	members = append(members, c)
	g.members.Store(&members)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		var rest []*conn
		for _, m := range *g.members.Load() {
			if m != c {
				rest = append(rest, m)
			}
		}
		g.members.Store(&rest)
		f.mu.Unlock()
	}()
	for {
		m, err := c.read()
		if err != nil {
			return
		}
		all := *g.members.Load()
		m.refs.Add(int32(len(all) - 1))
		for _, o := range all {
			if o != c {
				o.send(m)
			}
		}
		m.release() // the reader's own reference
	}
}

// Run starts the forwarder and serves until ctx is done.
func (f *Forwarder) Run(ctx context.Context) error {
	if err := f.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return f.Close()
}
