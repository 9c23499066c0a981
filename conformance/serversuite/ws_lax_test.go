package serversuite_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/wsframe"
	"github.com/blindpost/blindpost/conformance/serversuite"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// TestWSCasesCatchALaxFrameLayer puts a TLS-terminating proxy in front of the reference relay
// that repairs every client frame RFC 6455 forbids before the relay sees it (masks it, clears
// RSV bits, drops reserved opcodes, shortens and completes control frames, mends fragment
// order and close codes) and waits for whatever payload a header announces: a relay behind it
// looks like one with a lax frame layer. The ws/ cases of the rules it hides must fail, and the
// others, which only valid traffic reaches, must pass through it as they pass without it.
func TestWSCasesCatchALaxFrameLayer(t *testing.T) {
	id, err := tlspin.Ephemeral("ws-lax-proxy", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, pin := id.Cert, id.Pin.String()
	// spec §4.1 [TLS-6]: the relay behind the proxy binds proofs to the proxy's pin.
	srv := servertest.Start(t, func(c *server.Config) { c.PublicPin = pin })
	relay, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go laxForward(c, relay.Host)
		}
	}()

	env, err := serversuite.NewEnv(serversuite.Config{URL: "wss://" + ln.Addr().String() + "/", Pin: pin,
		Wait: time.Second, Slack: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var cases []harness.Case
	for _, c := range harness.SuiteCases(serversuite.Suite) {
		if strings.HasPrefix(c.ID, serversuite.Suite+"/ws/") {
			cases = append(cases, c)
		}
	}
	rep := harness.Run(t.Context(), cases, harness.Options{Seed: 15, Env: env, TimeoutFor: env.TimeoutFor, Parallel: 4})
	mustFail := []string{"handshake/accept", "framing/unmasked", "framing/reserved-bits", "framing/reserved-opcodes",
		"framing/control-frames", "fragmentation/out-of-order", "close/invalid-codes", "close/bad-payloads", "limits/announced"}
	for _, r := range rep.Results {
		short := strings.TrimPrefix(r.ID, serversuite.Suite+"/ws/")
		t.Logf("%-28s %s", short, r.Verdict)
		switch want := slices.Contains(mustFail, short); {
		case want && r.Verdict != harness.Fail:
			t.Errorf("%s: %s behind a lax frame layer; want fail", r.ID, r.Verdict)
		case !want && r.Verdict != harness.Pass:
			t.Errorf("%s: %s behind a proxy that passes valid frames unchanged; want pass: %v", r.ID, r.Verdict, r.Failures)
		}
	}
}

// laxForward forwards one connection to the relay: the upgrade as it is, the relay's bytes as
// they are, and the client's frames repaired.
func laxForward(client net.Conn, relayHost string) {
	defer client.Close()
	// The relay runs in this test; its certificate is not what the proxy is testing.
	up, err := tls.Dial("tcp", relayHost, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err != nil {
		return
	}
	defer up.Close()
	cbr, ubr := bufio.NewReader(client), bufio.NewReader(up)
	if copyHead(up, cbr) != nil {
		return
	}
	status, err := ubr.Peek(12)
	if err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(client, ubr)
		client.Close()
	}()
	if string(status[9:12]) != "101" {
		_, _ = io.Copy(up, cbr)
		return
	}
	inMsg := false
	for {
		// A header announcing up to 1 MiB is waited for; more ends the connection.
		f, err := wsframe.ReadFrame(cbr, 1<<20)
		if err != nil {
			return
		}
		if !repair(&f, &inMsg) {
			continue
		}
		if _, err := up.Write(wsframe.Append(nil, f)); err != nil {
			return
		}
	}
}

// copyHead copies an HTTP request head (up to its empty line) from r to w.
func copyHead(w io.Writer, r *bufio.Reader) error {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

// repair makes f a frame RFC 6455 allows, as a lax frame layer would read it; false drops it.
func repair(f *wsframe.Frame, inMsg *bool) bool {
	f.Masked, f.RSV, f.LengthForm = true, 0, wsframe.LengthMinimal
	switch op := f.Opcode; {
	case wsframe.IsControl(op) && op != wsframe.OpClose && op != wsframe.OpPing && op != wsframe.OpPong,
		!wsframe.IsControl(op) && op > wsframe.OpBinary:
		return false
	case wsframe.IsControl(op):
		f.Fin = true
		f.Payload = f.Payload[:min(len(f.Payload), wsframe.MaxControlPayload)]
		if op == wsframe.OpClose {
			code, reason, ok := wsframe.ParseClose(f.Payload)
			switch {
			case !ok:
				f.Payload = nil
			case len(f.Payload) >= 2 && (!wsframe.SendableCloseCode(code) || !utf8.Valid(reason)):
				f.Payload = wsframe.ClosePayload(1000, "")
			}
		}
		return true
	case op == wsframe.OpContinuation && !*inMsg:
		f.Opcode = wsframe.OpText
	case op != wsframe.OpContinuation && *inMsg:
		f.Opcode = wsframe.OpContinuation
	}
	*inMsg = !f.Fin
	return true
}
