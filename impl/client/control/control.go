// Package control lets one-shot commands (`blindpost send`, `blindpost peers trust`) act through
// the client that already runs for a user (`blindpost chat`, `blindpost gui`), over a unix socket
// in the user's profile directory (spec Appendix C, control.sock). A second connection to the
// relay would replace the running one (close 4001); through the socket the running client does
// the work on its own connection.
//
// The protocol is one JSON request per connection, answered by one JSON response. The socket is
// mode 0600 in the profile directory, so only its owner can use it.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/e2ee"
)

// SocketName is the file name of the control socket in a profile directory.
const SocketName = "control.sock"

// maxRequest bounds one request: texts of at most 1 MiB, as `blindpost send` reads.
const maxRequest = 2 << 20

// ErrRunning means another client already serves the socket: a second client for the same user
// would replace the first one's connection to the relay.
var ErrRunning = errors.New("control: a client is already running for this user")

// ErrNotRunning means no client serves the socket; the caller connects to the relay itself.
var ErrNotRunning = errors.New("control: no client is running for this user")

// Request is what a one-shot command asks the running client to do.
type Request struct {
	Cmd string `json:"cmd"` // "send" or "trust"
	// send: the recipient and the texts, one message each.
	To    string   `json:"to,omitempty"`
	Texts []string `json:"texts,omitempty"`
	// trust: the peer, and the fingerprint the served key must have when set.
	Peer        string `json:"peer,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// TimeoutMS bounds the request in the running client, as the command's own timeout; 0
	// means DefaultTimeout.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// DefaultTimeout bounds a request that names no timeout: sending waits for the peer to accept
// and for its receipts.
const DefaultTimeout = 2 * time.Minute

// Error kinds of a Response, so the command can choose its exit status.
const (
	KindUsage    = "usage"    // a bad argument
	KindPeer     = "peer"     // the peer is offline, unknown, declined or did not answer
	KindSecurity = "security" // a check of the specification failed
	KindError    = "error"    // anything else
)

// Response answers a Request.
type Response struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Kind  string `json:"kind,omitempty"`
	// send: the number of messages sent and the identity they were encrypted to (CLI-1).
	Sent        int    `json:"sent,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Listener is a bound control socket, not yet serving.
type Listener struct {
	// Log receives one line per request (never a text or a key); nil discards them.
	Log *slog.Logger

	path string
	ln   *net.UnixListener
}

// Listen binds the control socket at path, mode 0600. When a client already answers there it
// fails with ErrRunning; a stale socket left by a client that died is replaced.
func Listen(path string) (*Listener, error) {
	if conn, err := net.DialTimeout("unix", path, time.Second); err == nil {
		conn.Close()
		return nil, fmt.Errorf("%w (socket %s)", ErrRunning, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("control: %w", err)
	}
	ln, err := bind(path)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	return &Listener{path: path, ln: ln}, nil
}

// Close stops listening and removes the socket.
func (l *Listener) Close() error { return l.ln.Close() }

// Serve answers requests with c until ctx ends, then closes the listener. Each connection
// carries one request.
func (l *Listener) Serve(ctx context.Context, c *client.Client) error {
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop := context.AfterFunc(ctx, func() { l.ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("control: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			handle(ctx, conn, c, log)
		}()
	}
}

// Serve binds the control socket at path and answers requests with c until ctx ends: the entry
// point of a front end that runs a client (chat, gui).
func Serve(ctx context.Context, path string, c *client.Client) error {
	l, err := Listen(path)
	if err != nil {
		return err
	}
	return l.Serve(ctx, c)
}

// handle reads one request and writes its response.
func handle(ctx context.Context, conn net.Conn, c *client.Client, log *slog.Logger) {
	var resp Response
	req, err := decodeRequest(conn)
	if err != nil {
		resp = Response{Error: err.Error(), Kind: KindUsage}
	} else {
		resp = run(ctx, c, req)
	}
	log.Debug("control: request", "cmd", req.Cmd, "ok", resp.OK)
	w := bufio.NewWriter(conn)
	if err := json.NewEncoder(w).Encode(resp); err == nil {
		w.Flush()
	}
}

// decodeRequest reads one request: a JSON object of at most maxRequest bytes, no unknown member.
func decodeRequest(r io.Reader) (Request, error) {
	var req Request
	dec := json.NewDecoder(io.LimitReader(r, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("control: bad request: %w", err)
	}
	return req, nil
}

func run(ctx context.Context, c *client.Client, req Request) Response {
	timeout := DefaultTimeout
	if req.TimeoutMS > 0 {
		timeout = min(time.Duration(req.TimeoutMS)*time.Millisecond, 10*DefaultTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch req.Cmd {
	case "send":
		n, fp, err := send(ctx, c, req.To, req.Texts)
		if err != nil {
			return failure(err)
		}
		return Response{OK: true, Sent: n, Fingerprint: fp}
	case "trust":
		if err := trust(ctx, c, req.Peer, req.Fingerprint); err != nil {
			return failure(err)
		}
		fp, _ := c.PinnedFingerprint(req.Peer)
		return Response{OK: true, Fingerprint: fp}
	}
	return Response{Error: fmt.Sprintf("control: unknown command %q", req.Cmd), Kind: KindUsage}
}

// send sends texts to peer in the running client's secured session with peer when there is
// one, else in a new session that it ends afterwards, as `blindpost send` does on its own.
func send(ctx context.Context, c *client.Client, to string, texts []string) (int, string, error) {
	if len(texts) == 0 {
		return 0, "", fmt.Errorf("control: nothing to send: %w", client.ErrBadArgument)
	}
	for _, s := range c.Sessions() {
		if s.Peer == to && s.State == client.SessionSecured {
			return sendIn(ctx, c, s, texts, false)
		}
	}
	sid, err := c.Chat(ctx, to)
	if err != nil {
		return 0, "", err
	}
	info, err := c.WaitSession(ctx, sid)
	if err != nil {
		return 0, "", err
	}
	switch info.State {
	case client.SessionSecured:
	case client.SessionDeclined:
		return 0, "", fmt.Errorf("control: %s declined: %w", to, client.ErrDeclined)
	default:
		return 0, "", fmt.Errorf("control: the session %s", info.State)
	}
	return sendIn(ctx, c, info, texts, true)
}

// sendIn sends texts in session s, waits for the receipts (spec §6.7 [RCP-3]: what is reported
// sent is what the peer's client accepted), and ends s when end is set.
func sendIn(ctx context.Context, c *client.Client, s client.SessionInfo, texts []string, end bool) (int, string, error) {
	var ns []uint64
	var err error
	for _, text := range texts {
		var n uint64
		if n, err = c.Send(ctx, s.Session, text); err != nil {
			break
		}
		ns = append(ns, n)
	}
	if err == nil {
		err = client.WaitAllDelivered(ctx, c, s.Session, ns)
	}
	if end {
		if eerr := c.End(context.WithoutCancel(ctx), s.Session); err == nil {
			err = eerr
		}
	}
	return len(ns), s.PeerFingerprint, err
}

// trust pins the key the relay serves for peer, when it has the expected fingerprint.
func trust(ctx context.Context, c *client.Client, peer, expect string) error {
	if expect != "" {
		fp, err := c.ServedFingerprint(ctx, peer)
		if err != nil {
			return err
		}
		if fp != expect {
			return &e2ee.Error{Outcome: e2ee.KeyChanged, Rule: "TRUST-2",
				Detail: fmt.Sprintf("the relay serves %s for %s, not %s: nothing changed", fp, peer, expect)}
		}
	}
	return c.Trust(ctx, peer)
}

func failure(err error) Response {
	return Response{Error: err.Error(), Kind: kindOf(err)}
}

// kindOf sorts an error of the client into the kinds a command turns into exit statuses.
func kindOf(err error) string {
	var se *client.ServerError
	switch {
	case errors.As(err, &se) && (se.Code == "user_offline" || se.Code == "unknown_user" || se.Code == "bad_target"):
		return KindPeer
	case errors.Is(err, client.ErrDeclined), errors.Is(err, client.ErrUndelivered), errors.Is(err, context.DeadlineExceeded):
		return KindPeer
	case errors.Is(err, client.ErrBadArgument):
		return KindUsage
	}
	if _, ok := e2ee.OutcomeOf(err); ok {
		return KindSecurity
	}
	return KindError
}

// Conn is a one-shot command's connection to the running client.
type Conn struct {
	path string
}

// Dial finds the running client's socket at path; ErrNotRunning when none answers.
func Dial(path string) (*Conn, error) {
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	conn.Close()
	return &Conn{path: path}, nil
}

// Do sends req and returns the running client's response.
func (cn *Conn) Do(ctx context.Context, req Request) (Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", cn.path)
	if err != nil {
		return Response{}, fmt.Errorf("control: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Response{}, fmt.Errorf("control: send request: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(io.LimitReader(conn, maxRequest)).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return Response{}, fmt.Errorf("control: %w", ctx.Err())
		}
		return Response{}, fmt.Errorf("control: read response: %w", err)
	}
	return resp, nil
}
