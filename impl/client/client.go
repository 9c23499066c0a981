// Package client is the Blindpost client library: it connects to a relay over TLS 1.3 and
// WebSocket (spec §4), registers (§5.2), runs 1:1 sessions (§6) and groups (§7) with the
// cryptography of impl/e2ee, keeps the user's pins (§6.6), and reports everything that happens,
// every rejection included (§9), on one typed event channel. The driver protocol (Appendix A),
// the command line and the terminal UI are built on it.
//
// # Use
//
// A program dials once, then reads [Client.Events] while it calls methods:
//
//	c, err := client.Dial(ctx, client.Options{URL: url, User: "alice", Identity: key,
//		TLS: tlstrust.Policy{Pin: &pin}, KnownPeersFile: path})
//	defer c.Close()
//	go func() {
//		for ev := range c.Events() { ... } // closed after Close
//	}()
//	sid, err := c.Chat(ctx, "bob")      // SessionEvent{State: SessionSecured} follows
//	n, err := c.Send(ctx, sid, "hello")
//
// Methods that talk to the relay wait for its answer and honour their context; everything that
// arrives unasked (requests, messages, handshake progress, group epochs, rejections, connection
// changes) becomes an event, in the order it happened. A Bubble Tea program turns the channel
// into messages with a command that reads one event at a time, and calls the methods from
// other commands.
//
// # Events
//
// [ConnectionEvent] (connected, reconnecting with attempt and delay, disconnected with the close
// code), [UsersEvent] (the polled online list), [ChatRequestEvent] (answer with Accept or
// Decline), [SessionEvent] (requested, declined, handshaking, secured, ended, ended_unverified,
// failed), [MessageEvent], [GroupMembersEvent] (the relay's announcement), [GroupEvent] (a new
// epoch), [GroupSecuredEvent] (which members showed they hold it), [GroupLeftEvent],
// [GroupMessageEvent], [PinEvent] (a key pinned or re-trusted),
// [SafetyNumberEvent], [SecurityEvent] (every rejection, with its outcome code and rule id) and
// [ServerErrorEvent] (a refusal nobody waited for).
//
// # Errors
//
// Rejections by the protocol are *e2ee.Error values (e2ee.OutcomeOf gives the code of spec A.4),
// refusals by the relay are *[ServerError] values, and the client's own refusals wrap
// [ErrNotConnected], [ErrClosed], [ErrUnknownSession], [ErrState] or [ErrBadArgument].
//
// # Lifetime
//
// Every method is safe for concurrent use. After a dropped connection the client reconnects with
// exponential backoff (CLI-3), rejoins its groups and keeps its secured sessions; it does not
// reconnect after Close, after a newer login replaced it (4001) or after a refused registration.
// Close ends secured sessions with a close record, erases every key and stops every goroutine;
// Events is closed once its last event has been read, so keep reading it until then.
package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/client/backoff"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/trust"
)

// Defaults of Options.
const (
	DefaultPollUsers        = 5 * time.Second  // spec §5.4 [SRV-5]
	DefaultHandshakeTimeout = 30 * time.Second // spec §6.3 [HS-13]
)

// Options configures a client.
type Options struct {
	// URL is the relay's address, wss://HOST:PORT/.
	URL string
	// User is the username to register (spec §5.1 syntax).
	User string
	// Identity is the user's identity key (profile.LoadIdentity reads it from disk).
	Identity *identity.PrivateKey

	// TLS says which relay certificates are trusted (spec §4.1). Its zero value trusts the
	// system roots.
	TLS tlstrust.Policy
	// ConfirmServer is asked, when no configured trust accepts the relay's certificate, whether
	// to trust it on first use (spec §4.1 [TLS-4]). It must ask the user explicitly; a yes pins
	// the certificate in TLS.Known, which must be set. Nil refuses unknown certificates.
	ConfirmServer func(ctx context.Context, hostport string, pin tlstrust.Pin) (bool, error)

	// KnownPeersFile is the known_peers file of spec Appendix C; empty keeps the pins in memory.
	KnownPeersFile string
	// Invite is the invite code the relay's operator gave the user, sent with register to bind
	// a new username on an invite-only relay (spec §5.2.1); empty sends none.
	Invite string

	// Logger receives diagnostics; nil discards them. It never receives plaintext, keys or
	// secrets (spec §9 [CLI-4]).
	Logger *slog.Logger

	// NoReconnect disables reconnection after a dropped connection.
	NoReconnect bool
	// Backoff is the reconnection policy; the zero value means backoff.Default().
	Backoff backoff.Policy
	// Sleep waits between reconnection attempts; nil waits on the real clock. Tests inject one.
	Sleep backoff.Sleeper

	// PollUsers is the interval of the online list refresh (UsersEvent); 0 means
	// DefaultPollUsers and a negative value turns polling off.
	PollUsers time.Duration
	// HandshakeTimeout aborts a handshake that has not completed; 0 means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// ReceiptTimeout is how long a sent message may wait for its receipt while the peer is not
	// online before its session leaves the secured state (spec §9 [CLI-22]); 0 means
	// DefaultReceiptTimeout and a negative value never gives up.
	ReceiptTimeout time.Duration
	// History, when set, receives every message sent and received and every delivery state, to
	// keep them across restarts (spec §9 [CLI-24]); the client does not close it.
	History *history.Store
}

func (o *Options) check() error {
	var errs []error
	if !profile.ValidUsername(o.User) {
		errs = append(errs, fmt.Errorf("client: %q is not a valid username", o.User))
	}
	if o.Identity == nil {
		errs = append(errs, errors.New("client: no identity key"))
	}
	if _, err := tlstrust.HostPort(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("client: %w", err))
	}
	if o.ConfirmServer != nil && o.TLS.Known == nil {
		errs = append(errs, errors.New("client: ConfirmServer needs TLS.Known to store the pin"))
	}
	if err := errors.Join(errs...); err != nil {
		return errors.Join(ErrBadArgument, err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Backoff == (backoff.Policy{}) {
		o.Backoff = backoff.Default()
	}
	if o.Sleep == nil {
		o.Sleep = backoff.Sleep
	}
	if o.PollUsers == 0 {
		o.PollUsers = DefaultPollUsers
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.ReceiptTimeout == 0 {
		o.ReceiptTimeout = DefaultReceiptTimeout
	}
	return nil
}

// Client is a connection to a relay on behalf of one user, with the user's sessions, groups and
// pins. Create it with Dial; Close it when done.
type Client struct {
	opts   Options
	id     *identity.PrivateKey
	user   string
	log    *slog.Logger
	events *eventQueue
	peers  *trust.Store

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the client stopped for good
	wg     sync.WaitGroup

	closeOnce sync.Once

	mu       sync.Mutex
	cn       *conn // the registered connection; nil while disconnected
	closed   bool
	sessions map[SessionID]*session
	used     map[SessionID]string // every session id ever seen, and its peer (HS-1, HS-3)
	groups   map[string]*chatGroup
	online   []string
	outbox   []Undelivered      // messages whose delivery failed, kept to send again (CLI-21)
	answered map[SessionID]bool // unknown session ids answered with chat_terminate (REC-20)
	changed  chan struct{}      // closed and replaced whenever a session changes state
	// dirKeys are the identity keys the directory served (get_pubkey, KEY-5 and KEY-7 checked),
	// which a key first seen in a commit must equal (GRP-20).
	dirKeys map[string]ed25519.PublicKey
}

// Dial connects to the relay, registers opts.User and returns the running client. It fails
// when the relay cannot be reached, its certificate is not trusted, or registration is refused;
// after that first success the client reconnects on its own.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	peers := trust.NewMemory()
	if opts.KnownPeersFile != "" {
		var err error
		if peers, err = trust.Open(opts.KnownPeersFile); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		opts:     opts,
		id:       opts.Identity,
		user:     opts.User,
		log:      opts.Logger.With("user", opts.User),
		events:   newEventQueue(),
		peers:    peers,
		ctx:      cctx,
		cancel:   cancel,
		done:     make(chan struct{}),
		sessions: map[SessionID]*session{},
		used:     map[SessionID]string{},
		answered: map[SessionID]bool{},
		changed:  make(chan struct{}),
		groups:   map[string]*chatGroup{},
		dirKeys:  map[string]ed25519.PublicKey{},
	}
	cn, err := c.connect(ctx, true)
	if err != nil {
		cancel()
		c.events.close()
		return nil, err
	}
	c.attach(cn)
	go c.supervise(cn)
	if opts.PollUsers > 0 {
		c.wg.Add(1)
		go c.pollUsers()
	}
	return c, nil
}

// Events returns the channel of everything that happens. Read it until it is closed (after
// Close); events wait, without limit, until they are read.
func (c *Client) Events() <-chan Event { return c.events.out }

// Done is closed when the client has stopped for good: after Close, or when the connection
// ended and no reconnection follows.
func (c *Client) Done() <-chan struct{} { return c.done }

// User returns the registered username.
func (c *Client) User() string { return c.user }

// IdentityKey returns the user's public identity key.
func (c *Client) IdentityKey() []byte { return c.id.Public() }

// Fingerprint returns the fingerprint of the user's identity key (spec §3.3).
func (c *Client) Fingerprint() string { return identity.Fingerprint(c.id.Public()) }

// ServerPin returns the pin of the relay certificate verified on the current connection, and
// false while disconnected.
func (c *Client) ServerPin() (tlstrust.Pin, bool) {
	cn := c.conn()
	if cn == nil {
		return tlstrust.Pin{}, false
	}
	return cn.verified.Pin, true
}

// Connected reports whether the client is registered with the relay right now.
func (c *Client) Connected() bool { return c.conn() != nil }

// Close ends every secured session with a close record (spec §6.5), leaves the relay with close
// code 1000, erases the session and group keys, stops every goroutine and closes Events once the
// last event is read. It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		cn := c.cn
		c.endAllSessionsLocked(cn)
		c.mu.Unlock()
		if cn != nil {
			cn.close()
		}
		c.cancel()
		<-c.done
		c.wg.Wait()
		c.mu.Lock()
		c.eraseAllLocked()
		c.mu.Unlock()
		c.events.close()
	})
	return nil
}

// emit queues an event; it never blocks.
func (c *Client) emit(e Event) { c.events.push(e) }

// conn returns the current connection, nil while disconnected.
func (c *Client) conn() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cn
}

// needConn returns the current connection or ErrNotConnected.
func (c *Client) needConn() (*conn, error) {
	if cn := c.conn(); cn != nil {
		return cn, nil
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return nil, ErrNotConnected
}
