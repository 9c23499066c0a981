package conformcmd

import (
	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/conformance/clientsuite"
	"github.com/blindpost/blindpost/conformance/harness"
)

func init() { Register(clientCommand) }

func clientCommand(app *App) *cobra.Command {
	var (
		cfg clientsuite.Config
		rf  RunFlags
	)
	cmd := &cobra.Command{
		Use:   `client --driver "CMD ARGS"`,
		Short: "check a client through its driver: handshakes, records, trust and groups, against a malicious relay and peers",
		Long: `client starts the client under test once per case with the command line of --driver, and
operates it through the driver protocol (spec/protocol.md Appendix A): commands on its standard
input, responses and events on its standard output, one JSON object per line. Around it the runner
plays the relay (TLS 1.3 on 127.0.0.1, a self-signed certificate whose pin it passes in connect)
and the peers, honest or malicious as each case requires, and checks the client against spec §6
and §7: the handshake in both roles, records, pinning, groups, and every rejection reported as a
security event with its outcome code and rule (DRV-2).

A driver that answers "unimplemented" to a command a case needs gives that case the verdict
unimplemented, not fail.`,
		Example: `  # The reference client
  blindpost-conform client --driver "blindpost driver"

  # Another implementation, with an environment variable for its driver
  blindpost-conform client --driver "python3 -m myclient.driver --log-level debug" --driver-env MYCLIENT_HOME=/tmp/x

  # Only the group cases, or every case that checks HS-8
  blindpost-conform client --driver "blindpost driver" --run client/group
  blindpost-conform client --driver "blindpost driver" --run HS-8

  # Replay one failing case exactly (the report prints this command for every failure)
  blindpost-conform client --driver "blindpost driver" --seed 42 --run client/records/reflected`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cases := harness.SuiteCases(clientsuite.Suite)
			if rf.List {
				return rf.Execute(app, cases, Suite{})
			}
			env, err := clientsuite.NewEnv(cfg)
			if err != nil {
				return usage(err)
			}
			if err := env.Preflight(); err != nil {
				return usage(err)
			}
			return rf.Execute(app, cases, Suite{Env: env, TimeoutFor: env.TimeoutFor})
		},
	}
	fs := cmd.Flags()
	rf.Register(fs)
	fs.StringVar(&cfg.Driver, "driver", "", `the command line that starts the client in driver mode, as one word: "CMD ARGS" (quotes and backslashes as in a shell)`)
	fs.StringArrayVar(&cfg.Env, "driver-env", nil, "an extra `KEY=VALUE` in the driver's environment; repeatable")
	fs.StringVar(&cfg.Dir, "driver-dir", "", "the driver's working `DIR` (default: the current one)")
	fs.DurationVar(&cfg.Wait, "wait", clientsuite.DefaultWait, "how long to wait for each response, event or message of the client")
	fs.DurationVar(&cfg.StartupWait, "startup-wait", clientsuite.DefaultStartupWait, "how long to wait for the response to connect, the driver's start included")
	return cmd
}
