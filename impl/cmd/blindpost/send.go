package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/control"
	"github.com/blindpost/blindpost/impl/e2ee"
)

func (a *app) sendCmd() *cobra.Command {
	var to string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send --to NAME [TEXT...]",
		Short: "Send one end-to-end encrypted message and end the session",
		Long: `send connects, asks NAME for a 1:1 session, runs the handshake once NAME accepts, sends the
text (the arguments joined by spaces, or standard input when there are none, one message per
line), waits until NAME's client confirms each message with an end-to-end receipt, ends the
session with an encrypted close record and disconnects. While blindpost chat runs for the same
user, send goes through it instead of logging in a second time.

NAME's identity key is pinned the first time; if the relay later serves another key for NAME,
send refuses (exit 5) until you run: blindpost peers trust NAME.`,
		Example: `  blindpost send --user alice --server wss://chat.example.org:8443/ --to bob "lunch at noon?"

  # A self-signed relay, pinned explicitly:
  blindpost send --server wss://127.0.0.1:8443/ --server-pin sha256:9f86d0818… --to bob hi

  # From a script: one message per line of standard input, no prompt.
  uptime | blindpost send --user monitor --passphrase-file ./pass --to ops

Exit status: 0 delivered, 1 error, 2 bad usage, 3 connection or certificate refused,
4 NAME is offline, unknown, declined or did not answer within --timeout, 5 security check failed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError("send needs --to NAME")
			}
			texts, err := a.messages(args)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return a.runSend(ctx, to, texts)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the recipient's username")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up when the whole exchange takes longer (the peer must accept)")
	return cmd
}

// messages returns the texts to send: the arguments, or the lines of standard input.
func (a *app) messages(args []string) ([]string, error) {
	if len(args) > 0 {
		return []string{strings.Join(args, " ")}, nil
	}
	data, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	var texts []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimRight(line, "\r"); line != "" {
			texts = append(texts, line)
		}
	}
	if len(texts) == 0 {
		return nil, usageError("nothing to send: give the text as arguments or on standard input")
	}
	return texts, nil
}

func (a *app) runSend(ctx context.Context, to string, texts []string) error {
	// A client already running for this user sends on its own connection; a second one would
	// replace it (close 4001).
	req := control.Request{Cmd: "send", To: to, Texts: texts}
	if deadline, ok := ctx.Deadline(); ok {
		req.TimeoutMS = max(time.Until(deadline).Milliseconds(), 1)
	}
	if resp, handled, err := a.viaControl(ctx, req); handled {
		if err == nil {
			fmt.Fprintf(a.stdout, "Sent %d message(s) to %s, end-to-end encrypted to %s.\n", resp.Sent, to, resp.Fingerprint)
		}
		return err
	}
	return a.oneShot(ctx, func(c *client.Client) error { return a.sendTexts(ctx, c, to, texts) })
}

// sendTexts asks to for a chat, sends texts once it is secured, and ends the session.
func (a *app) sendTexts(ctx context.Context, c *client.Client, to string, texts []string) error {
	sid, err := c.Chat(ctx, to)
	if err != nil {
		return withCode(exitCodeOf(err), err)
	}
	fmt.Fprintf(a.stderr, "Waiting for %s to accept…\n", to)
	secured, err := waitSecured(ctx, c, sid)
	if err != nil {
		return withCode(exitCodeOf(err), err)
	}
	var ns []uint64
	for _, text := range texts {
		n, err := c.Send(ctx, sid, text)
		if err != nil {
			return withCode(exitCodeOf(err), err)
		}
		ns = append(ns, n)
	}
	// spec §6.7 [RCP-3]: sent means that the peer's client accepted them.
	delivered := client.WaitAllDelivered(ctx, c, sid, ns)
	if err := c.End(context.WithoutCancel(ctx), sid); err != nil {
		return withCode(exitCodeOf(err), err)
	}
	if delivered != nil {
		return withCode(exitCodeOf(delivered), delivered)
	}
	// spec §9 [CLI-1]: say that it was end-to-end secured, and with which identity.
	fmt.Fprintf(a.stdout, "Sent %d message(s) to %s, end-to-end encrypted to %s.\n", len(texts), to, secured.PeerFingerprint)
	return nil
}

// waitSecured reads events until the session is secured or can no longer be, reporting every
// security event on the way (spec §9 [CLI-2]).
func waitSecured(ctx context.Context, c *client.Client, sid client.SessionID) (client.SessionEvent, error) {
	for {
		select {
		case <-ctx.Done():
			return client.SessionEvent{}, fmt.Errorf("no secured session: %w", ctx.Err())
		case ev, ok := <-c.Events():
			if !ok {
				return client.SessionEvent{}, client.ErrClosed
			}
			switch e := ev.(type) {
			case client.SecurityEvent:
				if e.Session == sid || e.Session.IsZero() {
					return client.SessionEvent{}, &e2ee.Error{Outcome: e.Code, Rule: e.Rule, Detail: e.Detail}
				}
			case client.SessionEvent:
				if e.Session != sid {
					continue
				}
				switch e.State {
				case client.SessionSecured:
					return e, nil
				case client.SessionDeclined:
					return e, fmt.Errorf("%s declined: %w", e.Peer, client.ErrDeclined)
				case client.SessionFailed, client.SessionEnded, client.SessionEndedUnverified:
					return e, fmt.Errorf("the session %s: %s", e.State, e.Reason)
				}
			case client.ConnectionEvent:
				if e.State == client.Disconnected {
					return client.SessionEvent{}, withCode(exitConnect, errors.New("disconnected from the relay"))
				}
			}
		}
	}
}

// oneShot loads the identity, connects without reconnecting or polling, runs fn, and then
// closes the client and drains its events: the shape of every one-shot command.
func (a *app) oneShot(ctx context.Context, fn func(*client.Client) error) error {
	p, key, err := a.openIdentity()
	if err != nil {
		return err
	}
	defer key.Erase()
	c, err := a.dial(ctx, p, key, func(o *client.Options) { o.NoReconnect, o.PollUsers = true, -1 })
	if err != nil {
		return err
	}
	defer func() {
		c.Close()
		for range c.Events() {
		}
	}()
	return fn(c)
}
