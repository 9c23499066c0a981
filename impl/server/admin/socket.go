package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"time"
)

// maxRequest bounds one request line: a few hundred names to remove at once fit.
const maxRequest = 1 << 20

// ioTimeout bounds a request's reading and its response's writing on the socket.
const ioTimeout = 30 * time.Second

// Handler answers one request.
type Handler func(Request) Response

// Server serves the administration socket.
type Server struct {
	ln   *net.UnixListener
	path string
	wg   sync.WaitGroup
}

// Listen creates the socket at path, readable and writable by its owner only (mode 0600), and
// serves h on it until Close. A socket file left by a relay that did not stop cleanly is
// replaced; one that another relay still serves is not (the directory lock has already kept a
// second relay from starting on the same data directory).
func Listen(path string, h Handler) (*Server, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin: %s is served by another process", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("admin: remove the stale socket: %w", err)
	}
	// Connecting needs write permission on the socket: it is made 0600 right away, and until
	// then it lies in the data directory, which is 0700, and checkPeer refuses other users.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w (a unix socket path holds at most 107 bytes: give --admin-socket a shorter absolute path, or an empty one to turn the socket off)", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{ln: ln, path: path}
	s.wg.Go(func() { s.serve(h) })
	return s, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

func (s *Server) serve(h Handler) {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return // closed
		}
		s.wg.Go(func() { serveConn(c, h) })
	}
}

// serveConn answers the requests of one connection, one per line, from the socket's owner only.
func serveConn(c *net.UnixConn, h Handler) {
	defer c.Close()
	if err := checkPeer(c); err != nil {
		_ = json.NewEncoder(c).Encode(Response{Error: err.Error()})
		return
	}
	r := bufio.NewReaderSize(c, 4096)
	enc := json.NewEncoder(c)
	for {
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		line, err := readLine(r)
		if err != nil {
			if !errors.Is(err, errEOF) {
				_ = enc.Encode(Response{Error: err.Error()})
			}
			return
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			_ = enc.Encode(Response{Error: "admin: the request is not JSON: " + err.Error()})
			return
		}
		if err := enc.Encode(h(req)); err != nil {
			return
		}
	}
}

var errEOF = errors.New("admin: end of requests")

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, more, err := r.ReadLine()
		if err != nil {
			if len(line) == 0 {
				return nil, errEOF
			}
			return nil, fmt.Errorf("admin: read: %w", err)
		}
		line = append(line, part...)
		if len(line) > maxRequest {
			return nil, errors.New("admin: request too long")
		}
		if !more {
			return line, nil
		}
	}
}

// Close stops serving and removes the socket file.
func (s *Server) Close() error {
	err := s.ln.Close() // removes the file: net unlinks a socket it created
	s.wg.Wait()
	return err
}

// Call sends req to the relay serving the socket at path and returns its response. It returns
// an error wrapping ErrNotRunning when nothing serves the socket (no relay runs).
func Call(ctx context.Context, path string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
	}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, fmt.Errorf("admin: send: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("admin: read the response: %w", err)
	}
	return resp, nil
}

// ErrNotRunning: no relay serves the administration socket.
var ErrNotRunning = errors.New("admin: no relay serves the socket")
