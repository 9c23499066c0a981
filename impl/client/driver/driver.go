// Package driver implements the driver protocol of spec Appendix A: a test harness (the
// conformance runner, the demo, tests) operates the client through JSON lines, commands on
// standard input and responses and events on standard output. `blindpost driver` runs it.
//
// The protocol does not depend on its transport (Lines): `blindpost gui` serves the same
// commands and events to its page over a loopback WebSocket, adding the optional commands and
// events of spec A.5 through Options.Extra and Options.ExtraEvent.
package driver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/history"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas"
)

// Options configures a driver.
type Options struct {
	// Logger receives diagnostics (on standard error in `blindpost driver`); nil discards them.
	// It never receives plaintext or keys (spec §9 [CLI-4]).
	Logger *slog.Logger
	// Timeout bounds one command; 0 means 30 seconds.
	Timeout time.Duration
	// Reconnect makes the client reconnect after a dropped connection. Off by default: a harness
	// sees the disconnected event and decides itself.
	Reconnect bool
	// PeersFile is the known_peers file of the client; empty keeps the pins in memory for the
	// life of the driver.
	PeersFile string
	// Configure, when set, adjusts the client options before every connect (tests).
	Configure func(*client.Options)

	// Extra adds optional commands of spec A.5, keyed by name; each name must be in
	// schemas/driver/command.json, which validates the command before it runs. A command
	// neither here nor in A.1 is answered with unimplemented (spec A.1 [DRV-1]).
	Extra map[string]Command
	// ExtraEvent maps a client event that has no line in spec A.2 to an optional event of
	// spec A.5 (a value that encodes as one), or returns nil to log it instead.
	ExtraEvent func(client.Event) any
	// OnEnd, when set, is called once when Serve returns, after the client was closed and its
	// last event written.
	OnEnd func()
	// History, when set, keeps the conversations in the encrypted local history and serves the
	// optional conversations and history commands (spec A.1, CLI-24); the driver does not close
	// it. Without it those commands answer unimplemented.
	History *history.Store
}

// Command runs an optional command (spec A.5): args is the whole command line, already
// validated against schemas/driver/command.json. The results it returns become members of the
// response; an error becomes a failure whose code errorCode derives, or the code of a *Failure.
type Command func(ctx context.Context, s *Session, args json.RawMessage) (Results, error)

// Results are the result members of a response to an optional command.
type Results map[string]any

// Failure is an error an optional command returns to choose the error code of its failure
// response (one of schemas/driver/output.json).
type Failure struct {
	Code string
	Err  error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Session is what an optional command may do with the driver that runs it.
type Session struct{ d *driver }

// Client returns the connected client, or an error wrapping client.ErrNotConnected.
func (s *Session) Client() (*client.Client, error) { return s.d.client() }

// Attach makes c the driver's client, as connect does: its events are written from now on,
// and it is closed when the driver ends. It fails when a client is attached and running.
func (s *Session) Attach(c *client.Client) error { return s.d.attach(c) }

// SetHistory makes h the store behind the optional conversations and history commands, for a
// front end that opens it only once the identity is unlocked; nil turns them off again. Call it
// from an optional command, which runs between the driver's other commands.
func (s *Session) SetHistory(h *history.Store) { s.d.opts.History = h }

// command holds the members of every command of spec A.1; the schema says which are present.
type command struct {
	ID      string `json:"id"`
	Cmd     string `json:"cmd"`
	URL     string `json:"url"`
	User    string `json:"user"`
	Pin     string `json:"pin"`
	Seed    string `json:"seed"`
	Peer    string `json:"peer"`
	Session string `json:"session"`
	Text    string `json:"text"`
	Group   string `json:"group"`
	Limit   int    `json:"limit"`
}

// handler runs one command and fills in the results of its response.
type handler func(d *driver, ctx context.Context, c command, r *okResponse) error

// handlers holds every command of spec A.1.
var handlers = map[string]handler{
	"connect":       (*driver).connect,
	"list_users":    (*driver).listUsers,
	"chat":          (*driver).chat,
	"accept":        (*driver).accept,
	"decline":       (*driver).decline,
	"send":          (*driver).send,
	"end":           (*driver).end,
	"safety_number": (*driver).safetyNumber,
	"trust":         (*driver).trust,
	"group_join":    (*driver).groupJoin,
	"group_leave":   (*driver).groupLeave,
	"group_send":    (*driver).groupSend,
	"quit":          (*driver).quit,
	"conversations": (*driver).conversations,
	"history":       (*driver).history,
}

type driver struct {
	opts Options
	out  *lineWriter
	log  *slog.Logger

	mu     sync.Mutex
	c      *client.Client
	pumped sync.WaitGroup // the event pump of c
	over   bool           // quit was answered
}

// Run serves the driver protocol on standard streams: it reads commands from in until `quit`
// or the end of input, writes responses and events to out, and closes the client before it
// returns. It returns an error only when in or out fails.
func Run(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	return Serve(ctx, StreamLines(in, out), opts)
}

// Serve serves the driver protocol over any transport of lines, as Run does.
func Serve(ctx context.Context, lines Lines, opts Options) error {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &driver{opts: opts, out: newLineWriter(lines), log: log}
	if opts.OnEnd != nil {
		defer opts.OnEnd()
	}
	defer d.disconnect()
	for line := 1; ; line++ {
		data, err := lines.ReadLine()
		if isEOF(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("driver: read commands: %w", err)
		}
		if err := d.handle(ctx, line, data); err != nil {
			return err
		}
		if d.quitting() {
			return nil
		}
	}
}

// handle answers one command line with exactly one response (spec A.1 [DRV-1]).
func (d *driver) handle(ctx context.Context, line int, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	var head struct {
		ID  any `json:"id"`
		Cmd any `json:"cmd"`
	}
	// spec A.1 [DRV-6]: a line that is not a JSON object with a valid id gets a failure without id.
	if err := json.Unmarshal(data, &head); err != nil {
		d.log.Warn("driver: line is not a JSON object", "line", line, "err", err)
		return d.fail("", codeBadCommand, fmt.Sprintf("line %d is not a JSON object", line))
	}
	id, ok := head.ID.(string)
	if !ok || !wire.ValidID(id) { // driver ids share the request id syntax of spec §5.1
		d.log.Warn("driver: command without a valid id", "line", line)
		return d.fail("", codeBadCommand, fmt.Sprintf("line %d has no valid id", line))
	}
	name, _ := head.Cmd.(string)
	h, known := handlers[name]
	extra, isExtra := d.opts.Extra[name]
	if !known && isExtra {
		h, known = d.runExtra(extra, data), true
	}
	if !known {
		if _, isString := head.Cmd.(string); isString {
			return d.fail(id, codeUnimplemented, fmt.Sprintf("command %q is not supported", name))
		}
		return d.fail(id, codeBadCommand, "cmd must be a string")
	}
	violations, err := schemas.Check(schemas.DriverCommand, data)
	if err != nil {
		return d.fail(id, "internal", err.Error())
	}
	if len(violations) > 0 {
		v := violations[0]
		return d.fail(id, codeBadCommand, fmt.Sprintf("%s: %s: %s", v.Pointer, v.Keyword, v.Message))
	}
	var c command
	if err := json.Unmarshal(data, &c); err != nil {
		return d.fail(id, codeBadCommand, err.Error())
	}
	cctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	resp := okResponse{ID: id, OK: true}
	if err := h(d, cctx, c, &resp); err != nil {
		code, msg := errorCode(err)
		d.log.Debug("driver: command failed", "cmd", name, "id", id, "code", code)
		return d.fail(id, code, msg)
	}
	return d.out.write(resp)
}

// runExtra adapts an optional command to a handler: its results join the response.
func (d *driver) runExtra(cmd Command, data []byte) handler {
	return func(d *driver, ctx context.Context, _ command, r *okResponse) error {
		res, err := cmd(ctx, &Session{d: d}, json.RawMessage(data))
		r.extra = res
		return err
	}
}

func (d *driver) fail(id, code, message string) error {
	if message == "" {
		message = code
	}
	return d.out.write(failure{ID: id, OK: false, Error: code, Message: clip(message)})
}

func (d *driver) quitting() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.over
}

// client returns the connected client, or an error for a command that needs one.
func (d *driver) client() (*client.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.c == nil {
		return nil, fmt.Errorf("driver: not connected; send connect first: %w", client.ErrNotConnected)
	}
	return d.c, nil
}

// disconnect closes the client and waits until every event it produced has been written.
func (d *driver) disconnect() {
	d.mu.Lock()
	c := d.c
	d.c = nil
	d.mu.Unlock()
	if c != nil {
		c.Close()
	}
	d.pumped.Wait()
}

// attach adopts a connected client and starts writing its events.
func (d *driver) attach(c *client.Client) error {
	d.mu.Lock()
	old := d.c
	if old != nil {
		select {
		case <-old.Done():
		default:
			d.mu.Unlock()
			return fmt.Errorf("driver: already connected as %s: %w", old.User(), client.ErrState)
		}
	}
	d.mu.Unlock()
	if old != nil {
		d.disconnect()
	}
	d.mu.Lock()
	d.c = c
	d.pumped.Add(1)
	d.mu.Unlock()
	go d.pump(c)
	return nil
}

// pump writes the client's events as driver events until the client is closed.
func (d *driver) pump(c *client.Client) {
	defer d.pumped.Done()
	for ev := range c.Events() {
		line := eventLine(ev)
		if line == nil && d.opts.ExtraEvent != nil {
			line = d.opts.ExtraEvent(ev)
		}
		if line != nil {
			if err := d.out.write(line); err != nil {
				d.log.Warn("driver: cannot write event", "err", err)
			}
			continue
		}
		logEvent(d.log, ev)
	}
}

func decodeSeed(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	seed, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(seed) != 32 {
		return nil, errors.Join(client.ErrBadArgument, fmt.Errorf("driver: seed is not 32 bytes of base64"))
	}
	return seed, nil
}
