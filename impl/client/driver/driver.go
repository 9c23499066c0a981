// Package driver implements the driver protocol of spec Appendix A: a test harness (the
// conformance runner, the demo, tests) operates the client through JSON lines, commands on
// standard input and responses and events on standard output. `blindpost driver` runs it.
package driver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/client"
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
}

// idRE is the request id syntax of spec §5.1, which driver ids share.
var idRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

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

// Run serves the driver protocol: it reads commands from in until `quit` or the end of input,
// writes responses and events to out, and closes the client before it returns. It returns an
// error only when in or out fails.
func Run(ctx context.Context, in io.Reader, out io.Writer, opts Options) error {
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &driver{opts: opts, out: newLineWriter(out), log: log}
	defer d.disconnect()
	sc := newLineScanner(in)
	for line := 1; sc.Scan(); line++ {
		if err := d.handle(ctx, line, sc.Bytes()); err != nil {
			return err
		}
		if d.quitting() {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("driver: read commands: %w", err)
	}
	return nil
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
	if !ok || !idRE.MatchString(id) {
		d.log.Warn("driver: command without a valid id", "line", line)
		return d.fail("", codeBadCommand, fmt.Sprintf("line %d has no valid id", line))
	}
	name, _ := head.Cmd.(string)
	h, known := handlers[name]
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

// pump writes the client's events as driver events until the client is closed.
func (d *driver) pump(c *client.Client) {
	defer d.pumped.Done()
	for ev := range c.Events() {
		if line := eventLine(ev); line != nil {
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
