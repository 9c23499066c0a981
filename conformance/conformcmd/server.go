package conformcmd

import (
	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/serversuite"
)

func init() { Register(serverCommand) }

func serverCommand(app *App) *cobra.Command {
	var (
		cfg serversuite.Config
		rf  RunFlags
	)
	cmd := &cobra.Command{
		Use:   "server wss://HOST:PORT/ [wss://HOST:PORT/ …]",
		Short: "check a relay server: registration, forwarding, errors, limits, groups, hostile input",
		Long: `server plays many clients against the relay at wss://HOST:PORT/ and checks what it does against
spec/protocol.md §4 and §5. Registration proofs are bound to the server pin (REG-3), which the
runner computes from the certificate the server presents; --pin or --ca says which certificate to
trust.

A relay system that answers at several URLs, such as the nodes of a cluster, is given all of
them, as more arguments: it must behave to every client exactly like one relay. The connections of
every case are spread over the URLs: the n-th connection a case opens (from 0) goes to URL
(h(case id) + n) mod the number of URLs, h the first 8 bytes of SHA-256 of the case id, so that
the peers of a case land on different nodes and a replay with --seed dials the same nodes. One
--pin or --ca holds for every URL (the nodes present one certificate, or certificates from one
CA), and every URL must announce the same hello_ack.limits. The report lists the URLs and the
connections each received.

The server announces its timers in hello_ack (WS-7, WS-9), and the runner reads them before the
first case. With the spec's defaults the keepalive case waits a minute; the other cases run
alongside it.

Nor is the directory limit (REG-13): with --max-users N, server/registration/server-full registers
fresh usernames until the server answers server_full, which must come by the N+1-th. It runs after
every other case, and the names it binds stay bound: give --max-users only to a server whose
directory may be filled, such as a test instance (the reference server: blindpost-server
--max-users N, and blindpost-server users remove NAME to free a name).`,
		Example: `  # The reference relay of 'make run' (its pin is printed at start, and by 'blindpost-server pin')
  blindpost-conform server wss://127.0.0.1:8443/ --pin sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

  # A cluster of three relay nodes with one certificate: every case's clients spread over them
  blindpost-conform server wss://10.0.0.1:8443/ wss://10.0.0.2:8443/ wss://10.0.0.3:8443/ --pin sha256:…

  # A server with a certificate from a private CA, only the registration cases, as JSON
  blindpost-conform server wss://relay.example:8443/ --ca ca.pem --run server/registration --json

  # Replay one failing case exactly (the report prints this command for every failure)
  blindpost-conform server wss://127.0.0.1:8443/ --pin sha256:… --seed 42 --run server/relay/ordering

  # A test instance whose directory holds 1000 names: also fill it (REG-13)
  blindpost-conform server wss://127.0.0.1:8443/ --pin sha256:… --max-users 1000

  # CI: fewer repetitions, a JUnit report, known failures listed with their reasons
  blindpost-conform server wss://127.0.0.1:8443/ --pin sha256:… --quick --junit harness.xml --expect-fail expected.txt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cases := harness.SuiteCases(serversuite.Suite)
			if rf.List {
				return rf.Execute(app, cases, Suite{})
			}
			cfg.URL, cfg.URLs = args[0], args[1:]
			env, err := serversuite.NewEnv(cfg)
			if err != nil {
				return usage(err)
			}
			if err := env.Preflight(app.Ctx); err != nil {
				return usage(err)
			}
			return rf.Execute(app, cases, Suite{Env: env, TimeoutFor: env.TimeoutFor, Targets: env.Targets})
		},
	}
	fs := cmd.Flags()
	rf.Register(fs)
	fs.StringVar(&cfg.Pin, "pin", "", "trust the server certificate whose SPKI pin is `sha256:HEX` (spec §4.1), at every URL")
	fs.StringVar(&cfg.CAFile, "ca", "", "trust the CA certificates in PEM `FILE` (default: the system roots)")
	fs.StringVar(&cfg.ServerName, "server-name", "", "the name to verify in the certificate with --ca or the system roots (default: the URL's host)")
	fs.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", serversuite.DefaultHandshakeTimeout, "the server's deadline for the TLS handshake and the upgrade request (ABU-2)")
	fs.DurationVar(&cfg.Wait, "wait", 5e9, "how long to wait for each expected message")
	fs.DurationVar(&cfg.Slack, "slack", 2e9, "tolerance added to the server's timers")
	fs.BoolVar(&cfg.Quick, "quick", false, "fewer repetitions (bursts, races, state-machine sequences), for CI")
	fs.IntVar(&cfg.Burst, "burst", 0, "relays in the ordering burst (default 60, 20 with --quick)")
	fs.IntVar(&cfg.RapidChecks, "rapid-checks", 0, "sequences the state-machine run tries (default 25, 8 with --quick)")
	fs.IntVar(&cfg.RapidSteps, "rapid-steps", 0, "average actions per state-machine sequence (default 30)")
	fs.IntVar(&cfg.HostileFrames, "hostile-frames", 0, "most hostile frames each server/hostile case sends, drawn with the case's seed (default: all)")
	fs.IntVar(&cfg.FloodMax, "flood-max", 0, "most messages a flood sends before concluding that the server has no bound (default 5000)")
	fs.IntVar(&cfg.MaxUsers, "max-users", 0, "the usernames the server's directory holds at most (REG-13): server/registration/server-full fills it, "+
		"after every other case, and the names stay bound (default: not known, the case is skipped)")
	fs.StringVar(&cfg.Registration, "registration", "", "the server's registration policy, open, invite or closed (INV-1, INV-2): "+
		"server/registration/policy checks it (default: not known, the case is skipped)")
	fs.StringVar(&cfg.Invite, "invite", "", "a single-use invite the server issued (blindpost-server invites create): server/registration/policy uses it up (INV-4)")
	fs.IntVar(&cfg.RegisterBurst, "register-burst", 0, "the server's burst of new names from one address, the smaller of its per-address and global bursts, with a refill too slow to matter (such as blindpost-server "+
		"--register-burst 5 --register-rate 0.001): server/registration/rate exhausts it, after every other case (INV-5)")
	return cmd
}
