package benchcmd

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/bench/coalesce"
	"github.com/blindpost/blindpost/impl/bench/forwarder"
	"github.com/blindpost/blindpost/impl/bench/natsbase"
	"github.com/blindpost/blindpost/impl/server/servercmd"
)

// serverCommand runs the reference relay (impl/server/servercmd) inside this binary: the benchmarks
// start it as a child process.
func (o *options) serverCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "server [blindpost-server flags]",
		Short:              "Run the reference relay, as blindpost-server does (the benchmarks start it as a child)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := servercmd.Main(cmd.Context(), args, o.stdout, o.stderr, lookupEnv); code != 0 {
				return fmt.Errorf("the relay exited with status %d", code)
			}
			return nil
		},
	}
}

// forwarderCommand runs the typical forwarder on its own.
func (o *options) forwarderCommand() *cobra.Command {
	var cfg forwarder.Config
	cmd := &cobra.Command{
		Use:   "forwarder",
		Short: "Run the typical forwarder: gorilla/websocket + crypto/tls used the plain way, no validation",
		Long: `forwarder runs the typical baseline: a WebSocket relay on gorilla/websocket
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

// coalesceCommand runs the coalescing forwarder, the baseline of every figure, on its own.
func (o *options) coalesceCommand() *cobra.Command {
	var cfg coalesce.Config
	cmd := &cobra.Command{
		Use:   "coalesce",
		Short: "Run the baseline: the coalescing forwarder (one TLS record per batch), no validation",
		Long: `coalesce runs the baseline every figure is compared with: the strongest bare WebSocket
forwarder (a writer per connection that writes everything queued as one TLS record, pooled
buffers, the relay's TLS settings), with the routes of the forwarder subcommand. It prints its
URL and certificate pin, and serves until interrupted.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			f, err := coalesce.New(cfg)
			if err != nil {
				return err
			}
			if err := f.Start(); err != nil {
				return err
			}
			return o.announce(cmd, f.URL(), f.Pin(), f.Close)
		},
	}
	cmd.Flags().StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "address to listen on")
	cmd.Flags().StringVar(&cfg.DataDir, "data", "./blindpost-bench-coalesce", "where the certificate is kept")
	return cmd
}

// natsCommand runs the embedded NATS server with its TLS WebSocket listener on its own.
func (o *options) natsCommand() *cobra.Command {
	var cfg natsbase.Config
	cmd := &cobra.Command{
		Use:    "nats",
		Short:  "Run NATS (embedded nats-server) with its WebSocket listener over TLS, the third system",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := natsbase.New(cfg)
			if err != nil {
				return err
			}
			if err := s.Start(); err != nil {
				return err
			}
			return o.announce(cmd, s.URL(), s.Pin(), s.Close)
		},
	}
	cmd.Flags().StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "address of the WebSocket listener")
	cmd.Flags().StringVar(&cfg.DataDir, "data", "./blindpost-bench-nats", "where the certificate is kept")
	return cmd
}

// announce prints the lines package target waits for, serves until the command is
// interrupted, and closes.
func (o *options) announce(cmd *cobra.Command, url, pin string, closeFn func() error) error {
	fmt.Fprintf(o.stdout, "listening on %s\n", url)
	fmt.Fprintf(o.stdout, "server pin: %s\n", pin)
	<-cmd.Context().Done()
	return closeFn()
}

// lookupEnv gives the relay child no environment configuration: its flags say everything.
func lookupEnv(string) (string, bool) { return "", false }
