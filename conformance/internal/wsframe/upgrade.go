package wsframe

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// acceptGUID is the GUID of RFC 6455 §1.3 that Sec-WebSocket-Accept hashes with the key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID)) // the RFC's choice, not a security property
	return base64.StdEncoding.EncodeToString(sum[:])
}

// Request is an upgrade request (RFC 6455 §4.1). Header starts as the RFC's: Host,
// Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key (from Key), Sec-WebSocket-Version:
// 13, and Sec-WebSocket-Protocol when Protocols has any; the case may change or delete any of
// them (a value of "" deletes) to write a request the RFC does not allow.
type Request struct {
	Method    string // "" is GET
	Host      string // host:port
	Path      string // "" is /
	Key       string // Sec-WebSocket-Key: the base64 of 16 random bytes
	Protocols []string
	Header    http.Header // changes to the default headers
}

// Write writes the request to w.
func (r Request) Write(w *bufio.Writer) error {
	h := http.Header{}
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Key", r.Key)
	h.Set("Sec-WebSocket-Version", "13")
	if len(r.Protocols) > 0 {
		h.Set("Sec-WebSocket-Protocol", strings.Join(r.Protocols, ", "))
	}
	for k, vs := range r.Header {
		h.Del(k)
		for _, v := range vs {
			if v != "" {
				h.Add(k, v)
			}
		}
	}
	method, path := r.Method, r.Path
	if method == "" {
		method = http.MethodGet
	}
	if path == "" {
		path = "/"
	}
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, r.Host)
	if err := h.Write(w); err != nil {
		return err
	}
	if _, err := w.WriteString("\r\n"); err != nil {
		return err
	}
	return w.Flush()
}

// Upgrade writes req on conn and reads the response from br (which reads conn). It returns the
// response whatever its status (its body unread, which a refusal may have), and an error only
// when the request could not be written or no HTTP response came.
func Upgrade(conn net.Conn, br *bufio.Reader, req Request) (*http.Response, error) {
	if err := req.Write(bufio.NewWriter(conn)); err != nil {
		return nil, fmt.Errorf("wsframe: writing the upgrade request: %w", err)
	}
	hr, _ := http.NewRequest(req.Method, "/", nil) // for ReadResponse's method only
	if req.Method == "" {
		hr.Method = http.MethodGet
	}
	resp, err := http.ReadResponse(br, hr)
	if err != nil {
		return nil, fmt.Errorf("wsframe: reading the upgrade response: %w", err)
	}
	return resp, nil
}

// CheckSwitch returns what is wrong with a response that accepts the upgrade of a request with
// key (RFC 6455 §4.1, the client's checks): status 101, Upgrade: websocket, Connection: Upgrade
// and the Sec-WebSocket-Accept of the key. "" when nothing is.
func CheckSwitch(resp *http.Response, key string) string {
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return fmt.Sprintf("HTTP %d instead of 101", resp.StatusCode)
	case !hasToken(resp.Header, "Upgrade", "websocket"):
		return fmt.Sprintf("Upgrade: %q instead of websocket", resp.Header.Get("Upgrade"))
	case !hasToken(resp.Header, "Connection", "upgrade"):
		return fmt.Sprintf("Connection: %q instead of Upgrade", resp.Header.Get("Connection"))
	case resp.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key):
		return fmt.Sprintf("Sec-WebSocket-Accept: %q instead of %q", resp.Header.Get("Sec-WebSocket-Accept"), AcceptKey(key))
	}
	return ""
}

// hasToken reports whether a comma-separated header holds token, ignoring case.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
