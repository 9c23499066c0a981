package main

import (
	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client/driver"
)

func (a *app) driverCmd() *cobra.Command {
	var opts driver.Options
	cmd := &cobra.Command{
		Use:   "driver",
		Short: "Speak the JSON-lines driver protocol on stdin/stdout (for test harnesses)",
		Long: `driver lets a program operate this client: it reads one JSON command per line on standard
input and writes one JSON response per command, and events as they happen, on standard output
(spec Appendix A). Logs go to standard error. The identity is the seed given in connect, or a
fresh one; pins live in memory unless --peers-file is given.`,
		Example: `  blindpost driver <<'EOF'
  {"id":"1","cmd":"connect","url":"wss://127.0.0.1:8443/","user":"bot","pin":"sha256:9f86d0818…"}
  {"id":"2","cmd":"list_users"}
  {"id":"3","cmd":"quit"}
  EOF

  # The conformance runner starts it the same way:
  blindpost-conform client --driver "blindpost driver"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Logger = a.log
			return driver.Run(cmd.Context(), a.stdin, a.stdout, opts)
		},
	}
	cmd.Flags().StringVar(&opts.PeersFile, "peers-file", "", "keep the peer pins in this known_peers file instead of in memory")
	cmd.Flags().BoolVar(&opts.Reconnect, "reconnect", false, "reconnect after a dropped connection (off: report disconnected and wait)")
	cmd.Flags().DurationVar(&opts.Timeout, "command-timeout", 0, "the longest a command may take (default 30s)")
	return cmd
}
