package tui

import (
	"context"
	"errors"
	"fmt"
	"io"

	tea "charm.land/bubbletea/v2"
)

// Run shows the chat full screen on the terminal of in and out until the user quits, and
// returns once the client is closed. c must be connected already: trusting the relay's
// certificate and reading the passphrase happen before, on the plain terminal.
func Run(ctx context.Context, c Client, in io.Reader, out io.Writer, opts Options) error {
	m := New(ctx, c, opts)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, err := p.Run()
	c.Close() // after a kill or an error too: ends the sessions and erases the keys
	for range c.Events() {
	}
	if err == nil || errors.Is(err, tea.ErrInterrupted) || ctx.Err() != nil {
		return nil // the user quit, or a signal asked to
	}
	return fmt.Errorf("tui: %w", err)
}
