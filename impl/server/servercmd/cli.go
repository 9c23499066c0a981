// Package servercmd is the command line of blindpost-server: serving the relay (spec §4, §5), printing
// its pin (spec §4.1 [TLS-5]) and the operator commands on the directory of identity keys
// (spec §5.2, §5.2.1: users, invites, status), through the running relay's administration socket
// or, when it is stopped, on the directory file itself (package admin).
//
// Every flag can also be set with an environment variable, BLINDPOST_ and the flag name in upper
// case with '_' for '-' (--max-message is BLINDPOST_MAX_MESSAGE); command-line flags win.
// Configuration errors are reported all at once, each with where its value came from.
// The command itself (impl/cmd/blindpost-server) only calls Main.
package servercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/gctune"
)

// Exit statuses of Main.
const (
	ExitOK     = 0
	ExitError  = 1 // the command ran and failed
	ExitConfig = 2 // bad flags, environment or configuration
)

// configError marks errors that are the operator's configuration, for ExitConfig.
type configError struct{ error }

// Unwrap returns the underlying error.
func (e configError) Unwrap() error { return e.error }

// Main runs the command line with args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, lookup LookupEnv) int {
	cmd := NewCommand(stdout, stderr, lookup)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "blindpost-server: %v\n", err)
	var ce configError
	if errors.As(err, &ce) || strings.HasPrefix(err.Error(), "unknown command") {
		return ExitConfig
	}
	return ExitError
}

// configArgs marks the errors of an argument validator as usage errors (ExitConfig).
func configArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return configError{err}
		}
		return nil
	}
}

// options are the values of the flags.
type options struct {
	cfg       server.Config
	logFormat string
	logLevel  string
	gcPercent int
	cluster   clusterOptions
	lookup    LookupEnv
	stdout    io.Writer
	stderr    io.Writer
	src       sources
}

// NewCommand builds the blindpost-server command and its subcommands.
func NewCommand(stdout, stderr io.Writer, lookup LookupEnv) *cobra.Command {
	o := &options{cfg: server.DefaultConfig(), gcPercent: defaultGCPercent, lookup: lookup, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "blindpost-server",
		Short: "The Blindpost relay: a blind, authenticated WebSocket relay for end-to-end-encrypted chat",
		Long: `blindpost-server is the Blindpost relay (spec/protocol.md §4, §5). Clients connect over
wss:// with the subprotocol blindpost.v1, register a username with a proof of possession of
their identity key, and chat through it end to end encrypted: the relay forwards handshakes and
ciphertext it cannot read, and never logs or stores them.

On first start it generates a self-signed certificate in the data directory and prints its pin;
clients pin it (--server-pin sha256:…). The pin stays the same across restarts.

Every flag can also be set in the environment: BLINDPOST_ and the flag name in upper case with
'_' for '-' (--max-message is BLINDPOST_MAX_MESSAGE). Flags win over the environment.`,
		Example: examples,
		Args:    configArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.serve(cmd.Context(), cmd.Flags())
		},
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: o.prepare,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return configError{err} })
	o.locationFlags(root.PersistentFlags())
	o.serveFlags(root.Flags())
	o.cluster.connectFlags(root.PersistentFlags())
	o.cluster.serveFlags(root.Flags())
	root.AddCommand(o.pinCommand(), o.usersCommand())
	root.AddCommand(o.invitesCommand(), o.statusCommand())
	return root
}

const examples = `  # Start a relay for local use: wss://127.0.0.1:8443/, data in ./blindpost-data
  blindpost-server

  # Serve everyone on port 8443, data under /var/lib/blindpost, JSON logs
  blindpost-server --listen 0.0.0.0:8443 --data /var/lib/blindpost --log-format json

  # Use a certificate from a CA instead of the generated self-signed one
  blindpost-server --tls-cert /etc/blindpost/fullchain.pem --tls-key /etc/blindpost/privkey.pem

  # Behind a TLS-terminating proxy: proofs carry the pin of the certificate clients see
  blindpost-server --public-pin sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

  # Prometheus metrics, /healthz and pprof on a private port; stricter limits
  blindpost-server --metrics-listen 127.0.0.1:9090 --rate 20 --burst 40 --max-conns 200

  # The same settings from the environment (flags win)
  BLINDPOST_LISTEN=0.0.0.0:8443 BLINDPOST_RATE=20 blindpost-server

  # Print the pin again, for clients
  blindpost-server pin --data /var/lib/blindpost

  # List users, show one, free a name whose owner lost the key (running or stopped)
  blindpost-server users list
  blindpost-server users show alice
  blindpost-server users remove alice

  # A public relay: new names by invite only, a slower registration rate per address
  blindpost-server --listen 0.0.0.0:8443 --registration invite --register-rate 0.05 --register-burst 5
  blindpost-server invites create --uses 1 --ttl 72h

  # While it serves: its status, and the names unused for 30 days released
  blindpost-server status
  blindpost-server users prune --unused-since 720h

  # A cluster of three relays with NATS inside them (on each machine, its own --node-name and
  # address; the same certificate on all three, so one pin): README "Running a cluster"
  blindpost-server --listen 0.0.0.0:8443 --tls-cert cluster.pem --tls-key cluster-key.pem \
      --cluster-embedded --node-name r1 --cluster-route-listen 10.0.0.1:6222 \
      --cluster-routes 10.0.0.1:6222,10.0.0.2:6222,10.0.0.3:6222

  # A relay joining existing NATS servers; the cluster's users from any machine that reaches NATS
  blindpost-server --cluster nats://nats1:4222,nats://nats2:4222 --cluster-creds relay.creds --node-name r4
  blindpost-server users list --cluster nats://127.0.0.1:4222`

// locationFlags are the flags every subcommand shares: where the data and certificate live.
func (o *options) locationFlags(fs *pflag.FlagSet) {
	c := &o.cfg
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory: the generated certificate and the directory of identity keys")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "certificate chain (PEM) to serve instead of the generated one; needs --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", "", "private key (PEM) of --tls-cert")
	fs.StringVar(&c.PublicPin, "public-pin", "", "behind a TLS-terminating proxy: the sha256: pin of the certificate clients see (spec TLS-6)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json (logs go to standard error)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// serveFlags are the flags of the relay itself.
func (o *options) serveFlags(fs *pflag.FlagSet) {
	c := &o.cfg
	fs.StringVar(&c.Listen, "listen", c.Listen, "address of the wss:// listener, host:port")
	fs.StringVar(&c.MetricsListen, "metrics-listen", "", "address of the /metrics, /healthz and /debug/pprof/ listener (off when empty; keep it private)")
	fs.StringSliceVar(&c.AllowOrigins, "allow-origin", nil, "an Origin allowed to open connections, such as https://chat.example.org (repeatable; requests without Origin are always allowed; spec WS-2)")
	fs.IntVar(&c.MaxMessage, "max-message", c.MaxMessage, "largest WebSocket message in bytes (spec WS-5)")
	fs.IntVar(&c.Rate, "rate", c.Rate, "messages per second per connection, at least 10 (spec LIM-3)")
	fs.IntVar(&c.Burst, "burst", c.Burst, "token bucket size per connection, at least 20 (spec LIM-3)")
	fs.IntVar(&c.Queue, "queue", c.Queue, "messages in one connection's send queue; a client that falls further behind is closed with 4002")
	fs.IntVar(&c.QueueBytes, "queue-bytes", c.QueueBytes, "bytes in one connection's send queue, at least 4 × --max-message (any one message fits an empty queue); beyond, the client is closed with 4002")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "open connections, counted from accept (before TLS); beyond, new ones are closed at once (spec ABU-1)")
	fs.IntVar(&c.MaxUsers, "max-users", c.MaxUsers, "usernames in the directory; beyond, registrations of new names get server_full")
	fs.IntVar(&c.MaxGroups, "max-groups", c.MaxGroups, "groups one connection may be in, at least 1 (spec GSV-7)")
	fs.IntVar(&c.MaxGroupMembers, "max-group-members", c.MaxGroupMembers, "members of one group (at most 128)")
	fs.DurationVar(&c.PingInterval, "ping-interval", c.PingInterval, "time between WebSocket pings, 100ms to 30s, at most half of --pong-timeout; announced in hello_ack (spec WS-7)")
	fs.DurationVar(&c.PongTimeout, "pong-timeout", c.PongTimeout, "silence after which a connection is closed, 200ms to 2m; announced in hello_ack (spec WS-7)")
	fs.DurationVar(&c.RegisterTimeout, "register-timeout", c.RegisterTimeout, "time a connection has to register, 500ms to 1m; announced in hello_ack (spec WS-9)")
	fs.IntVar(&c.AbuseLimit, "abuse-limit", c.AbuseLimit, "rate_limited errors within --abuse-window that close a connection with 4003, at least 10 (spec LIM-4)")
	fs.DurationVar(&c.AbuseWindow, "abuse-window", c.AbuseWindow, "window of --abuse-limit, at most 10s (spec LIM-4)")
	fs.StringVar(&c.Registration, "registration", c.Registration, "who may bind a new username: open, invite (with a code from `invites create`) or closed (spec INV-1, INV-2)")
	fs.Float64Var(&c.RegisterRate, "register-rate", c.RegisterRate, "new usernames per second from one source address (an IPv6 /64 counts as one; spec INV-5)")
	fs.IntVar(&c.RegisterBurst, "register-burst", c.RegisterBurst, "token bucket size of --register-rate")
	fs.Float64Var(&c.RegisterRateGlobal, "register-rate-global", c.RegisterRateGlobal, "new usernames per second from all addresses together (spec INV-5)")
	fs.IntVar(&c.RegisterBurstGlobal, "register-burst-global", c.RegisterBurstGlobal, "token bucket size of --register-rate-global")
	fs.IntVar(&c.MaxKeptGroups, "max-kept-groups", c.MaxKeptGroups, "groups whose epoch and last commit are kept on disk, across restarts and while empty (spec GSV-20); beyond, new groups live in memory only")
	fs.DurationVar(&c.NameTTL, "name-ttl", c.NameTTL, "release a username that has not registered for this long, unless online (0: never; spec INV-7)")
	fs.StringVar(&c.AdminSocket, "admin-socket", c.AdminSocket, "administration socket (mode 0600) for users, invites and status while the relay runs, relative to --data unless absolute; empty: off")
	fs.IntVar(&c.MaxPending, "max-pending", c.MaxPending, "unanswered chat requests per sender and, apart, per recipient; beyond, chat_request gets limit_exceeded (spec SES-4)")
	fs.IntVar(&c.MaxChats, "max-chats", c.MaxChats, "accepted chats per connection; beyond, an accepting chat_response gets limit_exceeded (spec SES-4)")
	fs.DurationVar(&c.HandshakeTimeout, "handshake-timeout", c.HandshakeTimeout, "time from accepting a TCP connection to the end of its TLS handshake and upgrade request (spec ABU-2)")
	fs.IntVar(&c.MaxConnsPerAddr, "max-conns-per-addr", c.MaxConnsPerAddr, "open connections from one source address, counted from accept; beyond, closed at once (spec ABU-3; a public relay: 32 or fewer)")
	fs.IntVar(&c.MaxJoinsPerAddr, "max-joins-per-addr", c.MaxJoinsPerAddr, "group memberships of the connections from one source address; beyond, group_join gets limit_exceeded (spec ABU-4; a public relay: 16 or fewer)")
	fs.IntVar(&c.QueueShare, "queue-share", c.QueueShare, "percent of a recipient's send queue (--queue and --queue-bytes) one sender may fill; beyond, the sender gets rate_limited (spec SES-5)")
	fs.BoolVar(&c.Park, "park", c.Park, "idle connections give their goroutine up to an epoll set (Linux); --park=false keeps a reader goroutine per connection")
	fs.DurationVar(&c.ParkAfter, "park-after", c.ParkAfter, "how long a connection's reader waits for its socket before it parks, 10ms to 1h (with --park)")
	fs.IntVar(&o.gcPercent, "gc-percent", o.gcPercent, "garbage collector target for a large heap, as GOGC (10 to 1000; a small heap may always grow by 16 MiB): lower holds less memory per connection for more CPU; without this flag, a GOGC in the environment is used")
}

// defaultGCPercent is the relay's garbage collector target for a large heap. Go's default of
// 100 lets the heap grow to twice what is live: for a relay holding many idle connections, most
// of that is the garbage of their TLS handshakes. At 50, RSS per idle connection is about a
// fifth lower (make bench, the idle row). A small heap gets gcFloor of headroom instead when
// that is more (gctune): a fixed 50 % of a small heap made the collector run so often that
// connect+register slowed by a tenth and relay throughput by more.
const defaultGCPercent = 50

// gcFloor is the least the heap may grow by before a collection.
const gcFloor = 16 << 20

// gcTuner returns the tuner of --gc-percent, or nil when neither it nor its environment variable
// was given and GOGC was: then the operator's GOGC stands.
func (o *options) gcTuner() *gctune.Tuner {
	if _, set := o.src["gc-percent"]; !set {
		if _, ok := o.lookup("GOGC"); ok {
			return nil
		}
	}
	return &gctune.Tuner{Percent: o.gcPercent, Floor: gcFloor}
}

// prepare applies the environment to the flags of the command about to run.
func (o *options) prepare(cmd *cobra.Command, _ []string) error {
	src, err := applyEnv(cmd.Flags(), o.lookup)
	o.src = src
	if err != nil {
		return configError{fmt.Errorf("configuration:\n  %s", indent(err))}
	}
	if cmd != cmd.Root() { // the relay validates its cluster flags with the others
		if problems := o.cluster.validateConnect(cmd.Flags(), src); len(problems) > 0 {
			return configError{fmt.Errorf("%d configuration error(s):\n  %s", len(problems), strings.Join(problems, "\n  "))}
		}
	}
	return nil
}

// logger builds the slog logger of --log-format and --log-level, or returns the problems.
func (o *options) logger(fs *pflag.FlagSet) (*slog.Logger, []string) {
	var problems []string
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		problems = append(problems, o.src.of(fs, "log-level")+": must be debug, info, warn or error")
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(o.stderr, hopts)), problems
	case "json":
		return slog.New(slog.NewJSONHandler(o.stderr, hopts)), problems
	}
	return nil, append(problems, o.src.of(fs, "log-format")+": must be text or json")
}

// validate returns every configuration problem at once, each naming where the value came from.
func (o *options) validate(fs *pflag.FlagSet) (*slog.Logger, error) {
	log, problems := o.logger(fs)
	if o.gcPercent < 10 || o.gcPercent > 1000 {
		problems = append(problems, o.src.of(fs, "gc-percent")+": must be between 10 and 1000")
	}
	problems = append(problems, o.cluster.validate(fs, o.src)...)
	for _, err := range o.cfg.Validate() {
		var ce *server.ConfigError
		if errors.As(err, &ce) {
			problems = append(problems, o.src.of(fs, ce.Field)+": "+ce.Problem)
		} else {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return nil, configError{fmt.Errorf("%d configuration error(s):\n  %s", len(problems), strings.Join(problems, "\n  "))}
	}
	return log, nil
}

// serve runs the relay until SIGINT or SIGTERM (or ctx), then shuts down gracefully.
func (o *options) serve(ctx context.Context, fs *pflag.FlagSet) error {
	log, err := o.validate(fs)
	if err != nil {
		return err
	}
	o.cfg.Logger = log
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.cluster.active() {
		leave, err := o.joinCluster(ctx, log)
		if err != nil {
			return err
		}
		defer leave()
	}
	srv, err := server.New(o.cfg)
	if err != nil {
		return err
	}
	if t := o.gcTuner(); t != nil {
		go t.Run(ctx)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Close()
		return err
	}
	if srv.GeneratedCertificate() {
		fmt.Fprintf(o.stdout, "generated a self-signed certificate in %s\n", o.cfg.DataDir)
	}
	fmt.Fprintf(o.stdout, "listening on %s\n", srv.URL())
	fmt.Fprintf(o.stdout, "server pin: %s\n", srv.Pin())
	if m := srv.MetricsAddr(); m != nil {
		fmt.Fprintf(o.stdout, "metrics on http://%s/metrics\n", m)
	}
	<-ctx.Done()
	fmt.Fprintln(o.stdout, "shutting down")
	return srv.Close()
}

func indent(err error) string { return strings.ReplaceAll(err.Error(), "\n", "\n  ") }
