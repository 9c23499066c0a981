package cli

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/bench/forwarder"
	servercli "github.com/blindpost/blindpost/impl/server/cli"
)

// serverCommand runs the reference relay (impl/server/cli) inside this binary: the benchmarks
// start it as a child process.
func (o *options) serverCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "server [blindpost-server flags]",
		Short:              "Run the reference relay, as blindpost-server does (the benchmarks start it as a child)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := servercli.Main(cmd.Context(), args, o.stdout, o.stderr, lookupEnv); code != 0 {
				return fmt.Errorf("the relay exited with status %d", code)
			}
			return nil
		},
	}
}

// forwarderCommand runs the baseline forwarder on its own.
func (o *options) forwarderCommand() *cobra.Command {
	var cfg forwarder.Config
	cmd := &cobra.Command{
		Use:   "forwarder",
		Short: "Run the baseline forwarder: gorilla/websocket + crypto/tls, no validation, no authentication",
		Long: `forwarder runs the baseline every figure is compared with: a WebSocket relay on gorilla/websocket
and crypto/tls that pairs connections by ?pair=KEY (each message goes to the partner), forms
groups by ?group=NAME (each message goes to every other member), and only reads any other
connection. It prints its URL and certificate pin, and serves until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			f, err := forwarder.New(cfg)
			if err != nil {
				return err
			}
			if err := f.Start(); err != nil {
				return err
			}
			fmt.Fprintf(o.stdout, "listening on %s\n", f.URL())
			fmt.Fprintf(o.stdout, "server pin: %s\n", f.Pin())
			<-cmd.Context().Done()
			return f.Close()
		},
	}
	cmd.Flags().StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "address to listen on")
	cmd.Flags().StringVar(&cfg.DataDir, "data", "./blindpost-bench-forwarder", "where the certificate is kept")
	return cmd
}

// lookupEnv gives the relay child no environment configuration: its flags say everything.
func lookupEnv(string) (string, bool) { return "", false }
