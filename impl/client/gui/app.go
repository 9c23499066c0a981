package gui

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/client/driver"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/client/profile"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/client/tui"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/e2ee/keyfile"
)

// Options configures the graphical client.
type Options struct {
	// Root is the configuration root that holds one directory per user (profile.Root).
	Root string
	// User is the profile's username; empty lets the page choose it when it creates the
	// identity.
	User string
	// Server is the relay's URL; empty means the one the page names, or the only relay of the
	// profile's known_servers.
	Server string
	// ServerPin and Roots add to the profile's known_servers as --server-pin and --ca do
	// (spec §4.1).
	ServerPin *tlstrust.Pin
	Roots     *x509.CertPool
	// Keyfile tunes the encryption of a new identity (tests lower the scrypt cost).
	Keyfile *keyfile.Options
	// Logger receives diagnostics; never plaintext, passphrases or keys (spec §9 [CLI-4]).
	Logger *slog.Logger
	// Configure, when set, adjusts the client options before every connection (tests).
	Configure func(*client.Options)
	// ListenControl, when set, binds the profile's control socket before the client connects,
	// so that a second client for the same user is refused (control.ErrRunning) instead of
	// replacing the first one's connection; the connected client then serves it, so that
	// `blindpost send` and `peers trust` go through it. A nil listener means no socket.
	ListenControl func(p profile.Profile) (*control.Listener, error)
	// OnClient, when set, is called when a client is connected and ready, for another front
	// end to use it (the local control socket); the function it returns is called when that
	// client ends.
	OnClient func(ctx context.Context, p profile.Profile, c *client.Client) (stop func())
	// OpenHistory, when set, opens the profile's encrypted history with the unlocked identity
	// (spec §9 [CLI-24]); it keeps the conversations and serves the optional history commands
	// (spec A.1). A nil store means no history (--no-history).
	OpenHistory func(p profile.Profile, key *identity.PrivateKey) (*history.Store, error)
	// Timeout bounds one command; 0 means the driver's default.
	Timeout time.Duration
}

// App holds the state of the one page session: the profile, the unlocked identity, the relay
// pin that waits for the user's consent, and the connected client.
type App struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	prof     *profile.Profile
	key      *identity.PrivateKey // unlocked; erased when the session ends
	server   string               // the relay's URL once known
	pending  *tlstrust.Pin        // reported as untrusted, waiting for trust_server (DRV-30)
	cl       *client.Client
	verified *tui.Verifications
	stop     func()
	hist     *history.Store // the encrypted history, once unlocked (Options.OpenHistory)
}

// New returns the graphical client for opts; Serve connects it to a page.
func New(opts Options) (*App, error) {
	a := &App{opts: opts, log: opts.Logger, server: opts.Server}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if opts.User != "" {
		p, err := profile.Open(opts.Root, opts.User)
		if err != nil {
			return nil, fmt.Errorf("gui: %w", err)
		}
		a.prof = &p
	}
	return a, nil
}

// ServeWS runs the driver protocol with the page over ws until the page goes away; then the
// client is closed and the identity erased, so a reloaded page unlocks again.
func (a *App) ServeWS(ctx context.Context, ws *websocket.Conn) {
	err := driver.Serve(ctx, newWSLines(ws), driver.Options{
		Logger:     a.log,
		Timeout:    a.opts.Timeout,
		Extra:      a.commands(),
		ExtraEvent: extraEvent,
		OnEnd:      a.lock,
	})
	if err != nil {
		a.log.Info("gui: page session ended", "err", err)
	}
}

// lock forgets everything the session unlocked, after the driver closed the client.
func (a *App) lock() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
	if a.hist != nil {
		a.hist.Close()
		a.hist = nil
	}
	if a.key != nil {
		a.key.Erase()
		a.key = nil
	}
	a.pending, a.cl = nil, nil
}

// commands are the optional commands of spec A.5 that the page needs.
func (a *App) commands() map[string]driver.Command {
	return map[string]driver.Command{
		"status":          a.status,
		"create_identity": a.createIdentity,
		"unlock":          a.unlock,
		"trust_server":    a.trustServer,
		"verification":    a.verification,
		"mark_verified":   a.markVerified,
		"peer_keys":       a.peerKeys,
	}
}

// args holds the arguments of the optional commands; the schema says which are present.
type args struct {
	User        string `json:"user"`
	Passphrase  string `json:"passphrase"`
	Server      string `json:"server"`
	Pin         string `json:"pin"`
	Peer        string `json:"peer"`
	Fingerprint string `json:"fingerprint"`
}

func parseArgs(raw json.RawMessage) (args, error) {
	var x args
	if err := json.Unmarshal(raw, &x); err != nil {
		return x, fail("bad_command", fmt.Errorf("gui: %w", err))
	}
	return x, nil
}

func fail(code string, err error) error { return &driver.Failure{Code: code, Err: err} }

// status reports where the profile stands (spec A.5).
func (a *App) status(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.statusLocked(), nil
}

func (a *App) statusLocked() driver.Results {
	r := driver.Results{}
	if a.server != "" {
		r["server"] = a.server
	} else if url := a.knownServerLocked(); url != "" {
		r["server"] = url
	}
	if a.prof != nil {
		r["user"] = a.prof.User
	}
	switch {
	case a.prof == nil || !a.prof.HasIdentity():
		r["state"] = "no_identity"
	case a.key == nil:
		r["state"] = "locked"
	case a.pending != nil:
		r["state"], r["pin"] = "untrusted", a.pending.String()
	case a.cl != nil:
		r["state"], r["fingerprint"] = "ready", a.cl.Fingerprint()
	default:
		r["state"] = "locked"
	}
	return r
}

// knownServerLocked returns the only relay of the profile's known_servers as a URL, or "".
func (a *App) knownServerLocked() string {
	if a.prof == nil {
		return ""
	}
	list, err := tlstrust.OpenKnownServers(a.prof.Path(profile.KnownServers)).List()
	if err != nil || len(list) != 1 {
		return ""
	}
	return "wss://" + list[0].HostPort + "/"
}

// createIdentity creates the identity and connects (spec A.5 [DRV-33]).
func (a *App) createIdentity(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	x, err := parseArgs(raw)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.opts.User != "" && x.User != a.opts.User {
		return nil, fail("bad_command", fmt.Errorf("gui: this page serves %s; restart blindpost gui without --user to create another identity", a.opts.User))
	}
	p, err := profile.Open(a.opts.Root, x.User)
	if err != nil {
		return nil, fail("bad_command", err)
	}
	if p.HasIdentity() { // spec A.5 [DRV-33]
		return nil, fail("identity_exists", fmt.Errorf("gui: %s already has an identity on this computer; unlock it instead", x.User))
	}
	key, err := p.CreateIdentity(profile.CreateOptions{Passphrase: x.Passphrase, Keyfile: a.opts.Keyfile})
	if errors.Is(err, profile.ErrExists) {
		return nil, fail("identity_exists", err)
	}
	if err != nil {
		return nil, fmt.Errorf("gui: %w", err)
	}
	a.prof, a.key, a.server = &p, key, x.Server
	return a.connectLocked(ctx, s)
}

// unlock decrypts the identity and connects (spec A.5).
func (a *App) unlock(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	x, err := parseArgs(raw)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prof == nil || !a.prof.HasIdentity() {
		return nil, fail("no_identity", errors.New("gui: no identity yet; create one first"))
	}
	if a.cl != nil {
		return nil, fail("out_of_order", errors.New("gui: already unlocked"))
	}
	if a.key == nil {
		key, err := a.prof.LoadIdentity(func() (string, error) { return x.Passphrase, nil })
		switch {
		case errors.Is(err, keyfile.ErrWrongPassphrase):
			return nil, fail("bad_passphrase", errors.New("gui: the passphrase does not open this identity"))
		case err != nil:
			return nil, fmt.Errorf("gui: %w", err)
		}
		a.key = key
	}
	if x.Server != "" {
		a.server = x.Server
	}
	if a.server == "" {
		a.server = a.knownServerLocked()
	}
	if a.server == "" {
		return nil, fail("bad_command", errors.New("gui: which relay? give its wss:// address"))
	}
	return a.connectLocked(ctx, s)
}

// trustServer is the user's consent to the pin the last result showed (spec A.5 [DRV-30],
// §4.1 [TLS-4]).
func (a *App) trustServer(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	x, err := parseArgs(raw)
	if err != nil {
		return nil, err
	}
	pin, err := tlstrust.ParsePin(x.Pin)
	if err != nil {
		return nil, fail("bad_command", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil || a.key == nil {
		return nil, fail("out_of_order", errors.New("gui: no relay certificate waits for your consent"))
	}
	if pin != *a.pending { // spec A.5 [DRV-30]: only the pin that was shown
		return nil, fail("pin_mismatch", errors.New("gui: this is not the pin that was shown; nothing was trusted"))
	}
	hostport, err := tlstrust.HostPort(a.server)
	if err != nil {
		return nil, fail("bad_command", err)
	}
	if err := tlstrust.OpenKnownServers(a.prof.Path(profile.KnownServers)).Add(hostport, pin); err != nil {
		return nil, fmt.Errorf("gui: %w", err)
	}
	a.pending = nil
	return a.connectLocked(ctx, s)
}

// connectLocked dials the relay with the unlocked identity. An unknown certificate is not an
// error: its pin is reported for the user to confirm (spec §4.1 [TLS-4]).
func (a *App) connectLocked(ctx context.Context, s *driver.Session) (driver.Results, error) {
	p := *a.prof
	opts := client.Options{
		URL:      a.server,
		User:     p.User,
		Identity: a.key,
		TLS: tlstrust.Policy{
			Known: tlstrust.OpenKnownServers(p.Path(profile.KnownServers)),
			Pin:   a.opts.ServerPin,
			Roots: a.opts.Roots,
		},
		KnownPeersFile: p.Path(profile.KnownPeers),
		Logger:         a.log,
	}
	var ctl *control.Listener
	if a.opts.ListenControl != nil {
		l, err := a.opts.ListenControl(p)
		if errors.Is(err, control.ErrRunning) {
			return nil, fail("client_running", fmt.Errorf("a blindpost client (chat or gui) is already running for %s: use that one, or quit it first", p.User))
		}
		if err != nil {
			return nil, fmt.Errorf("gui: %w", err)
		}
		ctl = l
	}
	served := false
	defer func() {
		if ctl != nil && !served {
			ctl.Close()
		}
	}()
	if a.hist == nil && a.opts.OpenHistory != nil {
		h, err := a.opts.OpenHistory(p, a.key)
		if err != nil {
			return nil, fmt.Errorf("gui: %w", err)
		}
		a.hist = h
		s.SetHistory(h)
	}
	opts.History = a.hist
	if a.opts.Configure != nil {
		a.opts.Configure(&opts)
	}
	c, err := client.Dial(ctx, opts)
	if err != nil {
		return a.dialFailed(err)
	}
	verified, err := tui.OpenVerifications(p.Path(tui.VerifiedFile))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("gui: %w", err)
	}
	if err := s.Attach(c); err != nil {
		c.Close()
		return nil, err
	}
	a.cl, a.verified = c, verified
	stops := []func(){}
	if ctl != nil {
		served = true
		ctl.Log = a.log
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		go func() {
			if err := ctl.Serve(cctx, c); err != nil {
				a.log.Warn("gui: control socket stopped", "err", err)
			}
		}()
		stops = append(stops, func() { cancel(); ctl.Close() })
	}
	if a.opts.OnClient != nil {
		stops = append(stops, a.opts.OnClient(context.WithoutCancel(ctx), p, c))
	}
	a.stop = func() {
		for _, stop := range stops {
			stop()
		}
	}
	return a.statusLocked(), nil
}

// dialFailed turns a failed connection into the result or the failure that names the next step.
func (a *App) dialFailed(err error) (driver.Results, error) {
	var unknown *tlstrust.UnknownServerError
	var mismatch *tlstrust.PinMismatchError
	var se *client.ServerError
	switch {
	case errors.As(err, &unknown):
		a.pending = &unknown.Pin
		return a.statusLocked(), nil
	case errors.As(err, &mismatch):
		return nil, fail("pin_mismatch", fmt.Errorf("%w. This may be an attack. If the relay's operator confirms a new certificate, run: blindpost servers forget %s", err, mismatch.HostPort))
	case errors.As(err, &se) && se.Code == "identity_mismatch":
		return nil, fail(se.Code, fmt.Errorf("the relay holds the name %s for another key. If it is yours and you lost your key, ask the relay's operator to free it (blindpost-server users remove %s); otherwise create an identity with another name", a.prof.User, a.prof.User))
	case errors.As(err, &se):
		return nil, err
	case isNetError(err):
		return nil, fail("unreachable", fmt.Errorf("cannot reach the relay at %s; it may not be running, or the address is wrong: %w", a.server, err))
	}
	return nil, err
}

// isNetError reports whether err is a failure to reach the relay at all.
func isNetError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// ready returns the connected client, or a failure for a command that needs one.
func (a *App) ready() (*client.Client, *tui.Verifications, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cl == nil {
		return nil, nil, fail("out_of_order", errors.New("gui: not unlocked yet"))
	}
	return a.cl, a.verified, nil
}

// readyFor parses a command's arguments and returns them with the connected client.
func (a *App) readyFor(raw json.RawMessage) (args, *client.Client, *tui.Verifications, error) {
	x, err := parseArgs(raw)
	if err != nil {
		return x, nil, nil, err
	}
	c, v, err := a.ready()
	return x, c, v, err
}

// verification returns the safety number as digits and as a QR code (spec §6.6, A.5).
func (a *App) verification(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	x, c, v, err := a.readyFor(raw)
	if err != nil {
		return nil, err
	}
	digits, err := c.SafetyNumber(ctx, x.Peer)
	if err != nil {
		return nil, err
	}
	svg, err := qrSVG(digits)
	if err != nil {
		return nil, err
	}
	fp, _ := c.PinnedFingerprint(x.Peer)
	r := driver.Results{"digits": digits, "qr_svg": svg, "verified": v.IsVerified(x.Peer, fp)}
	if fp != "" {
		r["fingerprint"] = fp
	}
	return r, nil
}

// markVerified records the comparison for exactly the key the user saw (spec A.5 [DRV-31]).
func (a *App) markVerified(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	x, c, v, err := a.readyFor(raw)
	if err != nil {
		return nil, err
	}
	if fp, ok := c.PinnedFingerprint(x.Peer); !ok || fp != x.Fingerprint { // spec A.5 [DRV-31]
		return nil, fail("key_changed", fmt.Errorf("gui: %s's pinned key is not the one whose safety number was shown; compare again", x.Peer))
	}
	if err := v.Mark(x.Peer, x.Fingerprint); err != nil {
		return nil, fmt.Errorf("gui: %w", err)
	}
	return nil, nil
}

// peerKeys returns the pinned and the served fingerprint, for the key-change dialog (TRUST-2).
func (a *App) peerKeys(ctx context.Context, s *driver.Session, raw json.RawMessage) (driver.Results, error) {
	x, c, _, err := a.readyFor(raw)
	if err != nil {
		return nil, err
	}
	served, err := c.ServedFingerprint(ctx, x.Peer)
	if err != nil {
		return nil, err
	}
	r := driver.Results{"served": served}
	if fp, ok := c.PinnedFingerprint(x.Peer); ok {
		r["pinned"] = fp
	}
	return r, nil
}

// The optional events of spec A.5.
type usersEvent struct {
	Event     string   `json:"event"`
	Users     []string `json:"users"`
	Truncated bool     `json:"truncated,omitempty"`
}

type connectionEvent struct {
	Event   string `json:"event"`
	State   string `json:"state"`
	Attempt int    `json:"attempt,omitempty"`
	DelayMS int64  `json:"delay_ms,omitempty"`
}

type relayErrorEvent struct {
	Event   string `json:"event"`
	For     string `json:"for"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Peer    string `json:"peer,omitempty"`
	Session string `json:"session,omitempty"`
	Group   string `json:"group,omitempty"`
}

// extraEvent maps the client events the page needs and spec A.2 has no line for.
func extraEvent(ev client.Event) any {
	switch e := ev.(type) {
	case client.UsersEvent:
		users := e.Users
		if users == nil {
			users = []string{}
		}
		return usersEvent{Event: "users", Users: users, Truncated: e.Truncated}
	case client.ConnectionEvent:
		switch e.State {
		case client.Connected:
			return connectionEvent{Event: "connection", State: "connected"}
		case client.Reconnecting: // spec §9 [CLI-3]
			return connectionEvent{Event: "connection", State: "reconnecting", Attempt: max(e.Attempt, 1), DelayMS: e.Delay.Milliseconds()}
		}
	case client.ServerErrorEvent:
		out := relayErrorEvent{Event: "relay_error", For: clipTo(e.For, 64), Code: e.Code, Message: clipTo(e.Message, 1024), Peer: e.Peer, Group: e.Group}
		if !e.Session.IsZero() {
			out.Session = e.Session.String()
		}
		return out
	}
	return nil
}

// clipTo shortens s to at most n runes.
func clipTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
