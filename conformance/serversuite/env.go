// Package serversuite is the server suite of the Blindpost conformance runner: cases that play
// many clients against a relay under test (spec §4 and §5: TLS, WebSocket framing, limits and
// close codes, hello and registration, `from` stamping, the directory, forwarding,
// acknowledgements, errors, flow control and groups), schema-driven hostile input with a
// liveness probe around every hostile case, and a seeded state-machine run of several virtual
// clients against a model of the spec.
//
// The cases register themselves in the conform registry under "server/…". Every message the
// server sends is validated against schemas/server-message.json (MSG-6) and checked for plain
// decimal integers (ENC-7); every error is checked for echoes of what the client sent (ERR-4).
// Connections speak gorilla/websocket directly, so that cases can send binary, invalid UTF-8,
// oversize and otherwise hostile frames; well-formed messages come from the generated codec
// impl/wire and registration proofs from impl/e2ee/identity.
//
// Run it with NewEnv and harness.Run (the blindpost-conform command does), or harness.RunTests
// in a Go test.
package serversuite

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Suite is the first segment of every case id of this suite.
const Suite = "server"

// The spec's defaults for the server timers (spec §4.2 WS-7, WS-9).
const (
	DefaultRegisterTimeout = 10 * time.Second
	DefaultPingInterval    = 30 * time.Second
	DefaultPongTimeout     = 60 * time.Second
	// DefaultHandshakeTimeout is the reference server's handshake deadline (spec §5.10 ABU-2),
	// which the spec leaves to the server.
	DefaultHandshakeTimeout = 5 * time.Second
)

// Config describes the server under test and how hard to test it.
type Config struct {
	URL string // wss://HOST:PORT/
	// URLs are more URLs of the same relay system, such as the nodes of a cluster: the
	// connections of every case are spread over URL and URLs (spread.go). One trust setting
	// (Pin, CAFile or the system roots) holds for all of them.
	URLs   []string
	Pin    string // sha256:… SPKI pin to trust; or
	CAFile string // a PEM file of CA certificates to trust; neither: the system roots
	// ServerName overrides the name verified with CAFile or the system roots, for every URL.
	ServerName string

	// The server's timers (WS-7, WS-9): Preflight replaces them with those the server announces
	// in hello_ack.limits; until then (and for a server that announces none) the spec's defaults.
	RegisterTimeout time.Duration // the registration deadline (WS-9)
	PingInterval    time.Duration // how often the server pings (WS-7)
	PongTimeout     time.Duration // the silence after which the server closes (WS-7)
	// HandshakeTimeout is the server's deadline for TLS and the upgrade request (ABU-2).
	HandshakeTimeout time.Duration
	Wait             time.Duration // how long to wait for each expected message
	Slack            time.Duration // tolerance added to the server's timers

	// MaxUsers is the number of usernames the server's directory holds at most (REG-13), which
	// the server does not announce. With it, server/registration/server-full fills the directory
	// up to that limit, after every other case; the names it binds stay bound. 0: the limit is
	// not known, and that case is skipped.
	MaxUsers int

	// Registration is the server's registration policy (INV-1, INV-2): "", open, invite or
	// closed. Invite is a single-use invite the server issued, for INV-4. RegisterBurst is the
	// server's burst of new names from one address (INV-5: the smaller of its per-address and
	// global bursts), for a server whose refill is too slow to matter during the case; 0: not
	// known, and that case is skipped.
	Registration  string
	Invite        string
	RegisterBurst int

	Quick       bool // fewer repetitions, for CI
	Burst       int  // relays in the ordering burst (SRV-7)
	RapidChecks int  // sequences the state-machine run tries
	RapidSteps  int  // average actions per sequence
	FloodMax    int  // most messages a flood sends before concluding the server has no bound
	// HostileFrames bounds the hostile frames each server/hostile case sends, drawn with the
	// case's seed; 0 sends every frame the generator makes.
	HostileFrames int
}

// Defaults returns cfg with every unset field at its default: the spec's timers, a 5 s wait and
// 2 s of slack, and counts that keep a run against the reference server short.
func (cfg Config) Defaults() Config {
	cfg.RegisterTimeout = cmp.Or(cfg.RegisterTimeout, DefaultRegisterTimeout)
	cfg.PingInterval = cmp.Or(cfg.PingInterval, DefaultPingInterval)
	cfg.PongTimeout = cmp.Or(cfg.PongTimeout, DefaultPongTimeout)
	cfg.HandshakeTimeout = cmp.Or(cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	cfg.Wait = cmp.Or(cfg.Wait, 5*time.Second)
	cfg.Slack = cmp.Or(cfg.Slack, 2*time.Second)
	cfg.Burst = cmp.Or(cfg.Burst, pick(cfg.Quick, 20, 60))
	cfg.RapidChecks = cmp.Or(cfg.RapidChecks, pick(cfg.Quick, 8, 25))
	cfg.RapidSteps = cmp.Or(cfg.RapidSteps, 30)
	cfg.FloodMax = cmp.Or(cfg.FloodMax, 5000)
	return cfg
}

func pick(quick bool, q, full int) int {
	if quick {
		return q
	}
	return full
}

// Env is what every case of the suite reaches the server with; harness.Options.Env holds it.
type Env struct {
	cfg Config
	// targets are the URLs of the system under test, in the order given; every connection a
	// case opens goes to the one next picks (spread.go).
	targets []*target
	// run is drawn afresh by NewEnv: group names carry it (GroupName), as the groups a
	// previous run left keep their epochs (GSV-20).
	run string
	// rate is the message rate the server announced to Preflight (LIM-3); 0 until then.
	rate int64
}

// NewEnv checks cfg and prepares the TLS configuration: the pin (verified on the SPKI of the
// leaf, spec §4.1 TLS-2), the CA file, or the system roots; TLS 1.3 only (TLS-1).
// With several URLs (Config.URLs), each gets the same trust setting, verified against its own
// host name unless ServerName says otherwise.
func NewEnv(cfg Config) (*Env, error) {
	cfg = cfg.Defaults()
	if cfg.MaxUsers < 0 {
		return nil, fmt.Errorf("serversuite: --max-users %d: the directory limit is a number of usernames, 1 or more", cfg.MaxUsers)
	}
	raw := cfg.URLs
	if cfg.URL != "" {
		raw = append([]string{cfg.URL}, raw...)
	}
	if len(raw) == 0 {
		return nil, errors.New("serversuite: no URL: give the relay's wss://HOST:PORT/")
	}
	e := &Env{cfg: cfg, run: rand.Text()}
	seen := map[string]bool{}
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "wss" || u.Host == "" {
			return nil, fmt.Errorf("serversuite: %q is not a wss://HOST:PORT/ URL", r)
		}
		if u.Path == "" {
			u.Path = "/"
		}
		if seen[u.String()] {
			return nil, fmt.Errorf("serversuite: %s is given twice: give each URL of the system once", u)
		}
		seen[u.String()] = true
		tc, err := tlsConfig(cfg, u)
		if err != nil {
			return nil, err
		}
		e.targets = append(e.targets, &target{url: u, tls: tc})
	}
	return e, nil
}

// Config returns the configuration with its defaults.
func (e *Env) Config() Config { return e.cfg }

func tlsConfig(cfg Config, u *url.URL) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: cmp.Or(cfg.ServerName, u.Hostname()), NextProtos: []string{"http/1.1"}}
	switch {
	case cfg.Pin != "" && cfg.CAFile != "":
		return nil, errors.New("serversuite: give --pin or --ca, not both")
	case cfg.Pin != "":
		want, err := tlspin.Parse(cfg.Pin)
		if err != nil {
			return nil, fmt.Errorf("serversuite: --pin: %w", err)
		}
		// The pin replaces the chain and name checks, as spec §4.1 TLS-2 allows.
		pinned := want.ClientConfig()
		pinned.ServerName, pinned.NextProtos = tc.ServerName, tc.NextProtos
		tc = pinned
	case cfg.CAFile != "":
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("serversuite: --ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("serversuite: --ca %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// TimeoutFor gives the cases whose waits follow the server's timers a deadline long enough for
// them; for harness.Options.TimeoutFor.
func (e *Env) TimeoutFor(c harness.Case) time.Duration {
	switch c.ID {
	case caseKeepalive:
		return e.cfg.PongTimeout + e.cfg.PingInterval + 2*e.cfg.Slack + 4*e.cfg.Wait
	case caseDeadline:
		return e.cfg.RegisterTimeout + e.cfg.Slack + 4*e.cfg.Wait
	case caseServerFull:
		// Up to MaxUsers+1 registrations, each a connection, hello and register.
		return time.Duration(e.cfg.MaxUsers+63)*e.cfg.Wait/10 + 4*e.cfg.Wait // and up to 60 racing first
	}
	if strings.HasPrefix(c.ID, Suite+"/hostile/") {
		return e.hostileTimeout()
	}
	return 0
}

// hostileFramesMax bounds the hostile frames one hostile case sends (168 at most today).
const hostileFramesMax = 250

// hostileTimeout gives a hostile case time to send hostileFramesMax frames one by one at the
// pace of a client (setPace: 80 % of the announced rate), less the pongs it owes the server's
// pings, which take from the same rate (spec §5.10 [ABU-5]); 0 (the default deadline) when
// that is enough, or when the rate is not known.
func (e *Env) hostileTimeout() time.Duration {
	perSecond := 0.8 * float64(e.rate)
	if e.cfg.PingInterval > 0 {
		perSecond -= float64(time.Second) / float64(e.cfg.PingInterval)
	}
	if e.rate <= 0 || perSecond < 1 {
		return 0
	}
	d := time.Duration(float64(hostileFramesMax)/perSecond*float64(time.Second)) + 4*e.cfg.Wait
	if d <= harness.DefaultCaseTimeout {
		return 0
	}
	return d
}

// Name returns the username of a role in the case being run: unique to the run's seed and the
// case, the same when the case is replayed with the same seed, and at most 32 characters.
func Name(t *harness.T, role string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d %s", t.Seed(), t.Case().ID))
	if len(role) > 20 {
		role = role[:20]
	}
	return "c" + hex.EncodeToString(h[:5]) + "-" + role
}

// Key returns the identity of a username under the run's seed: replaying a case with the same
// seed against the same server registers the same keys, so the bindings it left still match.
// variant gives other keys for the same name (identity_mismatch cases).
func Key(t *harness.T, name string, variant int) *identity.PrivateKey {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], t.Seed())
	m := hmac.New(sha256.New, seed[:])
	fmt.Fprintf(m, "blindpost-conform identity %s %d", name, variant)
	k, err := identity.FromSeed(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte seed always gives a key
	}
	return k
}

// envOf returns the suite's environment of a case.
func envOf(t *harness.T) *Env {
	e, ok := t.Env().(*Env)
	if !ok {
		panic(fmt.Sprintf("serversuite: case %s run without a *serversuite.Env (got %T)", t.Case().ID, t.Env()))
	}
	return e
}

// helloLimits sends hello on ws and returns the limits of the server's hello_ack (spec §4.2
// [WS-7], [WS-9], §5.2); without a valid hello_ack, nil: the configured timers stay, and the
// cases report what is wrong.
func helloLimits(ws *websocket.Conn, wait time.Duration) *wire.Limits {
	ws.SetReadDeadline(time.Now().Add(wait))
	ws.SetWriteDeadline(time.Now().Add(wait))
	hello, err := wire.Encode(&wire.Hello{Protocol: "blindpost/1", User: "conform-preflight"})
	if err != nil || ws.WriteMessage(websocket.TextMessage, hello) != nil {
		return nil
	}
	_, data, err := ws.ReadMessage()
	if err != nil {
		return nil
	}
	m, err := wire.Decode(wire.FromServer, data)
	if ack, ok := m.(*wire.HelloAck); err == nil && ok {
		return &ack.Limits
	}
	return nil
}

// AnnouncedTimers returns the ping interval, pong timeout and registration deadline a server
// announced in hello_ack.limits (spec §4.2 [WS-7], [WS-9]).
func AnnouncedTimers(l wire.Limits) (ping, pong, register time.Duration) {
	return time.Duration(l.PingIntervalMs) * time.Millisecond, time.Duration(l.PongTimeoutMs) * time.Millisecond,
		time.Duration(l.RegisterTimeoutMs) * time.Millisecond
}

// Preflight opens one connection to every URL of the server, so that a wrong URL, pin or CA is
// reported once, with the next step to take, rather than by every case, and learns the server's
// timers from the hello_ack of the first URL (which the deadlines of the cases that wait on them
// follow). Every other URL must announce the same limits: the URLs are one relay system, and a
// case's connections go to all of them. An upgrade the server refuses with an HTTP status is
// not a preflight error: the cases judge it.
func (e *Env) Preflight(ctx context.Context) error {
	var (
		first    *wire.Limits
		firstURL *url.URL
	)
	for _, tg := range e.targets {
		limits, err := e.preflight(ctx, tg)
		if err != nil {
			return err
		}
		switch {
		case limits == nil:
		case first == nil:
			first, firstURL = limits, tg.url
			e.cfg.PingInterval, e.cfg.PongTimeout, e.cfg.RegisterTimeout = AnnouncedTimers(*limits)
			e.rate = limits.Rate
		case *limits != *first:
			return fmt.Errorf("serversuite: %s announces the limits %+v, %s announced %+v\n"+
				"the URLs given are one relay system: each must announce the same hello_ack.limits", tg.url, *limits, firstURL, *first)
		}
	}
	return nil
}

// preflight connects to one URL and returns the limits its hello_ack announced (nil: none).
func (e *Env) preflight(ctx context.Context, tg *target) (*wire.Limits, error) {
	d := tlspin.NewDialer(tg.tls, e.cfg.Wait)
	ws, resp, err := d.DialContext(ctx, tg.url.String(), nil)
	switch {
	case err == nil:
		defer ws.Close()
		return helloLimits(ws, e.cfg.Wait), nil
	case resp != nil:
		return nil, nil
	}
	hint := fmt.Sprintf("is a Blindpost server listening at %s?", tg.url)
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown) || errors.As(err, &invalid):
		hint = "the server's certificate is not trusted: pass --pin sha256:… (the reference server prints its pin when it starts, and again with 'blindpost-server pin --data DIR') or --ca FILE"
	case errors.As(err, &host):
		hint = "the certificate does not name this host: pass --server-name NAME, or trust the certificate by --pin"
	case strings.Contains(err.Error(), "pin"):
		hint = "the server presents another certificate than --pin says: check the pin ('blindpost-server pin --data DIR')"
	}
	if len(e.targets) > 1 {
		hint += "\n(one --pin or --ca holds for every URL: the nodes of one system present one certificate, or certificates from one CA)"
	}
	return nil, fmt.Errorf("serversuite: cannot connect to %s: %v\n%s", tg.url, err, hint)
}
