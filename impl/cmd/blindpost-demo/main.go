// Command blindpost-demo shows Blindpost in one command (`make demo`): it starts a relay on a
// free loopback port, and alice and bob as two `blindpost driver` subprocesses, who chat 1:1 and
// in the broadcast group. It prints side by side what the clients saw (plaintext) and what
// crossed the relay (ciphertext only), checks that no plaintext ever crossed it, and stops
// everything.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "blindpost-demo: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "blindpost-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(out, "Building the blindpost client…")
	bin, err := buildClient(ctx, tmp)
	if err != nil {
		return err
	}
	net, err := startNetwork(filepath.Join(tmp, "relay"))
	if err != nil {
		return err
	}
	defer net.close()
	fmt.Fprintf(out, "Relay listening behind a tap on %s (certificate pin %s)\n", net.tap.URL(), net.tap.Pin())
	fmt.Fprintf(out, "Clients: alice and bob, each a `blindpost driver` subprocess.\n\n")

	sc := &scenario{net: net}
	for _, name := range []string{"alice", "bob"} {
		d, err := startDriverProc(bin, name, io.Discard)
		if err != nil {
			return err
		}
		sc.drivers = append(sc.drivers, d)
	}
	defer sc.kill()
	if err := sc.play(); err != nil {
		return err
	}
	if err := sc.stop(); err != nil {
		return err
	}
	render(out, sc.steps)
	return sc.verdict(out)
}

// buildClient compiles impl/cmd/blindpost once into dir.
func buildClient(ctx context.Context, dir string) (string, error) {
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	bin := filepath.Join(dir, "blindpost")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/blindpost/blindpost/impl/cmd/blindpost")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the client: %w", err)
	}
	return bin, nil
}

// verdict checks that no plaintext crossed the relay and says so.
func (sc *scenario) verdict(out io.Writer) error {
	frames := sc.net.frames()
	for _, text := range sc.plaintexts {
		for _, f := range frames {
			if strings.Contains(string(f.Data), text) {
				return fmt.Errorf("the plaintext %q crossed the relay in %s", text, f.Data)
			}
		}
	}
	fmt.Fprintf(out, "\nNone of the %d messages' plaintext appears in any of the %d messages that crossed the relay.\n", len(sc.plaintexts), len(frames))
	fmt.Fprintln(out, "The relay saw who talked to whom and when, and ciphertext it cannot read. Everything stopped cleanly.")
	return nil
}
