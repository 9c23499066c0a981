package server

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/blindpost/blindpost/impl/server/cluster"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Software is the server name announced in hello_ack (spec §5.2).
const Software = "blindpost-server/1.0"

// Config is everything the relay can be told. DefaultConfig gives the safe defaults of spec §4.2
// and §5.8; the command line maps one flag to each exported field.
type Config struct {
	Listen        string // address of the WebSocket listener, host:port ("127.0.0.1:0" picks a port)
	DataDir       string // where the generated certificate and the directory live
	TLSCert       string // operator certificate chain (PEM); with TLSKey, replaces the generated one
	TLSKey        string // operator private key (PEM)
	PublicPin     string // the pin clients see behind a TLS-terminating proxy (spec §4.1 [TLS-6])
	MetricsListen string // address of the metrics, health and pprof listener; empty: off

	// AllowOrigins lists the Origin header values allowed to open a connection (spec §4.2
	// [WS-2]); a request without Origin (native clients) is always allowed.
	AllowOrigins []string

	MaxMessage      int           // bytes per WebSocket message (spec §4.2 [WS-5])
	Rate            int           // messages per second per connection (spec §5.8 [LIM-3])
	Burst           int           // token bucket size per connection
	Queue           int           // messages in one connection's send queue (spec §5.8 [LIM-1])
	QueueBytes      int           // bytes in it; an empty queue takes any one message (spec §5.8 [LIM-5])
	MaxConns        int           // open connections, counted from Accept; beyond, closed at once (spec §5.8 [LIM-5], §5.10 [ABU-1])
	MaxUsers        int           // bound usernames in the directory (spec §5.2 [REG-13])
	MaxGroups       int           // groups one connection may be in (spec §5.9 [GSV-7])
	MaxGroupMembers int           // members of one group (spec §5.9 [GSV-7])
	PingInterval    time.Duration // between WebSocket pings (spec §4.2 [WS-7])
	PongTimeout     time.Duration // silence after which a connection is closed (spec §4.2 [WS-7])
	RegisterTimeout time.Duration // from upgrade to register_ack (spec §4.2 [WS-9])
	AbuseLimit      int           // rate_limited errors within AbuseWindow that close with 4003 (spec §5.8 [LIM-4])
	AbuseWindow     time.Duration
	MaxPending      int // pending chat requests per sender and, apart, per recipient connection (spec §5.5 [SES-4])
	MaxChats        int // accepted chats per connection (spec §5.5 [SES-4])
	QueueShare      int // percent of a recipient's send queue one sender may fill (spec §5.5 [SES-5])
	// HandshakeTimeout bounds the TLS handshake and the upgrade request from Accept on
	// (spec §5.10 [ABU-2]); MaxConnsPerAddr and MaxJoinsPerAddr bound the connections and the
	// group memberships of one source address (ABU-3, ABU-4).
	HandshakeTimeout time.Duration
	MaxConnsPerAddr  int
	MaxJoinsPerAddr  int

	// Registration (spec §5.2.1): who may bind a new name, how fast, and how long an unused name
	// stays bound.
	Registration        string        // open, invite or closed (INV-1, INV-2)
	RegisterRate        float64       // new names per second from one source address (INV-5)
	RegisterBurst       int           // token bucket size of RegisterRate
	RegisterRateGlobal  float64       // new names per second from all addresses together (INV-5)
	RegisterBurstGlobal int           // token bucket size of RegisterRateGlobal
	NameTTL             time.Duration // a name not registered for this long is released (INV-7); 0: never
	MaxKeptGroups       int           // groups whose epoch and last commit are kept on disk (GSV-20)
	// AdminSocket is the unix socket of the administration commands, relative to DataDir unless
	// absolute; "" turns it off (spec-free: an operator interface, README "Administration").
	AdminSocket string

	// WriteTimeout bounds one frame write to a client; CloseGrace bounds how long a closing
	// connection waits for the client's close frame before the TCP connection is dropped.
	WriteTimeout time.Duration
	CloseGrace   time.Duration

	// Park lets a connection whose reader has waited ParkAfter for the socket give its
	// goroutine up to the server's epoll set until the socket, the keepalive or a close needs
	// it again (README "Performance"). It needs Linux, and a build without the tag
	// blindpost_noepoll; elsewhere, or when false, every connection keeps a reader goroutine.
	// Nothing of it changes what a client sees.
	Park      bool
	ParkAfter time.Duration

	// Clock is the directory's clock (when names were last seen, when invites expire); nil
	// means time.Now. Tests move it to age names.
	Clock func() time.Time

	// Cluster, when not nil, makes the relay one node of a cluster (spec §5.11): its directory
	// is the cluster's (Cluster.StoreFor, with MaxUsers and Clock) instead of a bbolt file in
	// DataDir, and users, chats and groups span every node. DataDir still holds the certificate
	// and the administration socket. nil: one relay, as before.
	Cluster *cluster.Node

	// Logger receives the relay's logs; nil discards them. It never receives payloads, ciphertexts,
	// commits, proofs or key material (spec §5.5 [SRV-12]).
	Logger *slog.Logger
}

// DefaultConfig returns the defaults: the example limits of spec §5.2, the timers of spec §4.2.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8443",
		DataDir:         "./blindpost-data",
		MaxMessage:      65536,
		Rate:            50,
		Burst:           100,
		Queue:           128,
		QueueBytes:      1 << 20,
		MaxConns:        1000,
		MaxUsers:        10000,
		MaxGroups:       16,
		MaxGroupMembers: 100,
		PingInterval:    30 * time.Second,
		PongTimeout:     60 * time.Second,
		RegisterTimeout: 10 * time.Second,
		AbuseLimit:      100,
		AbuseWindow:     10 * time.Second,
		MaxPending:      16,
		MaxChats:        64,
		QueueShare:      80,

		HandshakeTimeout: 5 * time.Second,
		MaxConnsPerAddr:  500,
		MaxJoinsPerAddr:  256,
		WriteTimeout:     10 * time.Second,
		CloseGrace:       2 * time.Second,
		Park:             true,
		ParkAfter:        2 * time.Second,

		// A public relay should tighten these (README, "Operations"); the defaults let one host
		// run the conformance suite (about 600 new names) and the demo without waiting.
		Registration:        "open",
		RegisterRate:        10,
		RegisterBurst:       1000,
		RegisterRateGlobal:  100,
		RegisterBurstGlobal: 10000,
		NameTTL:             90 * 24 * time.Hour,
		MaxKeptGroups:       10000,
		AdminSocket:         AdminSocketName,
	}
}

// Bounds of the announced limits and timers (schemas/s2c/hello_ack.json, spec §4.2 [WS-7],
// [WS-9], §5.8 [LIM-3], [LIM-4]): what the spec guarantees every client.
const (
	MinRate            = 10
	MinBurst           = 20
	MinAbuseLimit      = 10
	MaxAbuseWindow     = 10 * time.Second
	MinPingInterval    = 100 * time.Millisecond
	MaxPingInterval    = 30 * time.Second
	MinPongTimeout     = 200 * time.Millisecond
	MaxPongTimeout     = 120 * time.Second
	MinRegisterTimeout = 500 * time.Millisecond
	MaxRegisterTimeout = 60 * time.Second
)

// Bounds of Config.ParkAfter: not announced and not the spec's, but below 10ms a reader would
// park between the messages of an active client.
const (
	MinParkAfter = 10 * time.Millisecond
	MaxParkAfter = time.Hour
)

// ConfigError is one invalid setting. Field is the command-line flag name of the setting, so
// that the command can say where the value came from.
type ConfigError struct {
	Field   string
	Problem string
}

// Error returns "server: --FLAG: PROBLEM".
func (e *ConfigError) Error() string { return fmt.Sprintf("server: --%s: %s", e.Field, e.Problem) }

// Validate returns every problem of c at once (nil when there is none). The bounds of the
// announced limits are those of schemas/s2c/hello_ack.json, so that hello_ack stays valid.
func (c *Config) Validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	between := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(field, "%d is out of range: must be between %d and %d", v, lo, hi)
		}
	}
	timer := func(field string, d, lo, hi time.Duration) {
		if d < lo || d > hi || d%time.Millisecond != 0 {
			bad(field, "%s is out of range: must be whole milliseconds between %s and %s (spec §4.2, announced in hello_ack)", d, lo, hi)
		}
	}
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, "%s must be positive", d)
		}
	}
	if c.Listen == "" {
		bad("listen", "must not be empty")
	}
	if c.DataDir == "" {
		bad("data", "must not be empty")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "--tls-cert and --tls-key must be given together")
	}
	if c.PublicPin != "" {
		if _, err := tlspin.Parse(c.PublicPin); err != nil {
			bad("public-pin", "%q is not sha256: followed by 64 lowercase hex digits", c.PublicPin)
		}
	}
	for _, o := range c.AllowOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("allow-origin", "%q is not an origin such as https://chat.example.org", o)
		}
	}
	between("max-message", c.MaxMessage, 1024, 16777216)
	between("rate", c.Rate, MinRate, 1000000)
	between("burst", c.Burst, MinBurst, 1000000)
	between("queue", c.Queue, 1, 1000000)
	between("queue-bytes", c.QueueBytes, 1024, 1<<30)
	if c.QueueBytes >= 1024 && c.MaxMessage >= 1024 && c.QueueBytes < 4*c.MaxMessage {
		// A reader that keeps up may have one large message being written and the next ones
		// arriving: a queue of fewer than a few would close it for a short burst.
		bad("queue-bytes", "%d must be at least 4 × --max-message (%d)", c.QueueBytes, 4*c.MaxMessage)
	}
	between("max-conns", c.MaxConns, 1, 10000000)
	between("max-users", c.MaxUsers, 1, 1<<31-1)
	between("max-groups", c.MaxGroups, 1, 1024)
	between("max-group-members", c.MaxGroupMembers, 1, 128)
	between("abuse-limit", c.AbuseLimit, MinAbuseLimit, 1000000)
	timer("ping-interval", c.PingInterval, MinPingInterval, MaxPingInterval)
	timer("pong-timeout", c.PongTimeout, MinPongTimeout, MaxPongTimeout)
	timer("register-timeout", c.RegisterTimeout, MinRegisterTimeout, MaxRegisterTimeout)
	if c.AbuseWindow <= 0 || c.AbuseWindow > MaxAbuseWindow {
		// spec §5.8 [LIM-4]: fewer than MinAbuseLimit errors within the last 10 s never close,
		// so the errors that do must fall within a window of 10 s at most.
		bad("abuse-window", "%s is out of range: must be positive and at most %s (spec §5.8 [LIM-4])", c.AbuseWindow, MaxAbuseWindow)
	}
	between("max-pending", c.MaxPending, 1, 1000000)
	between("max-chats", c.MaxChats, 1, 1000000)
	between("queue-share", c.QueueShare, 1, 100)
	between("max-conns-per-addr", c.MaxConnsPerAddr, 1, 10000000)
	between("max-joins-per-addr", c.MaxJoinsPerAddr, 1, 1<<31-1)
	positive("handshake-timeout", c.HandshakeTimeout)
	positive("write-timeout", c.WriteTimeout)
	positive("close-grace", c.CloseGrace)
	timer("park-after", c.ParkAfter, MinParkAfter, MaxParkAfter)
	if _, err := directory.ParsePolicy(c.Registration); err != nil {
		bad("registration", "%q must be open, invite or closed", c.Registration)
	}
	if c.RegisterRate <= 0 || c.RegisterRate > 1e6 {
		bad("register-rate", "%g must be above 0 and at most 1000000", c.RegisterRate)
	}
	if c.RegisterRateGlobal <= 0 || c.RegisterRateGlobal > 1e6 {
		bad("register-rate-global", "%g must be above 0 and at most 1000000", c.RegisterRateGlobal)
	}
	between("register-burst", c.RegisterBurst, 1, 1000000)
	between("register-burst-global", c.RegisterBurstGlobal, 1, 1000000)
	between("max-kept-groups", c.MaxKeptGroups, 1, 100000000)
	if c.NameTTL < 0 || (c.NameTTL > 0 && c.NameTTL < time.Hour) {
		bad("name-ttl", "%s must be 0 (never release) or at least 1h", c.NameTTL)
	}
	if c.PingInterval > 0 && c.PongTimeout > 0 && 2*c.PingInterval > c.PongTimeout {
		bad("ping-interval", "%s must be at most half of --pong-timeout %s (spec §4.2 [WS-7])", c.PingInterval, c.PongTimeout)
	}
	return errs
}

// originAllowed applies spec §4.2 [WS-2]: no Origin, or one of the allow-list (compared without
// regard to case and to a trailing slash).
func (c *Config) originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), "/") }
	for _, o := range c.AllowOrigins {
		if norm(o) == norm(origin) {
			return true
		}
	}
	return false
}
