package server_test

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
	"github.com/blindpost/blindpost/impl/server/servertest/timescale"
)

// The tests of this file write raw frames to the relay and check that its frame layer is as
// strict as RFC 6455 asks (and as gorilla/websocket, the frame layer the relay had before, was):
// protocol errors close with 1002, an invalid UTF-8 close reason with 1007, a message over
// max_message with 1009 (spec §4.2 [WS-5]); control frames are answered inside fragmented
// messages, and the client's close frame is echoed.

// The opcodes and bits of a frame's first byte (RFC 6455 §5.2).
const (
	opCont  = 0x0
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	fin     = 0x80
	rsv1    = 0x40
)

// rawFrame is a client frame: first byte b0, payload masked unless unmasked.
func rawFrame(b0 byte, payload []byte, unmasked bool) []byte {
	out := []byte{b0}
	maskBit := byte(0x80)
	if unmasked {
		maskBit = 0
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, maskBit|byte(n))
	case n < 1<<16:
		out = append(out, maskBit|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, maskBit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if unmasked {
		return append(out, payload...)
	}
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out = append(out, mask[:]...)
	for i, b := range payload {
		out = append(out, b^mask[i%4])
	}
	return out
}

// closePayload is the payload of a close frame with code and reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// writeRaw writes frames to ws's connection as they are, bypassing gorilla's writer.
func writeRaw(t *testing.T, ws *websocket.Conn, frames ...[]byte) {
	t.Helper()
	var all []byte
	for _, f := range frames {
		all = append(all, f...)
	}
	if err := ws.NetConn().SetWriteDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.NetConn().Write(all); err != nil {
		t.Fatal(err)
	}
}

// closeCodeOf reads from ws until the connection ends and returns the server's close code.
func closeCodeOf(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("the connection ended with %v, not a close frame", err)
		}
		return ce.Code
	}
}

// TestFrameErrorsClose checks that every frame RFC 6455 makes a protocol error fails the
// connection with the close code of RFC 6455 §7.4.1, before and after registration.
func TestFrameErrorsClose(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	max := server.DefaultConfig().MaxMessage
	long := make([]byte, 14) // a header with a 64-bit length and a mask
	long[0], long[1] = fin|opText, 0x80|127
	long[2] = 0x80 // the most significant bit of a 64-bit length (RFC 6455 §5.2)
	tests := []struct {
		name   string
		frames [][]byte
		code   int
	}{
		{"§5.1 unmasked frame", [][]byte{rawFrame(fin|opText, []byte(`{}`), true)}, websocket.CloseProtocolError},
		{"§5.2 reserved bit", [][]byte{rawFrame(fin|rsv1|opText, []byte(`{}`), false)}, websocket.CloseProtocolError},
		{"§5.2 reserved data opcode", [][]byte{rawFrame(fin|0x3, []byte(`{}`), false)}, websocket.CloseProtocolError},
		{"§5.2 reserved control opcode", [][]byte{rawFrame(fin|0xb, nil, false)}, websocket.CloseProtocolError},
		{"§5.2 64-bit length with its top bit", [][]byte{long}, websocket.CloseProtocolError},
		{"§5.5 control frame over 125 bytes", [][]byte{rawFrame(fin|opPing, make([]byte, 126), false)}, websocket.CloseProtocolError},
		{"§5.5 fragmented control frame", [][]byte{rawFrame(opPing, []byte("p"), false)}, websocket.CloseProtocolError},
		{"§5.4 continuation without a message", [][]byte{rawFrame(fin|opCont, []byte(`{}`), false)}, websocket.CloseProtocolError},
		{"§5.4 new message inside a fragmented one", [][]byte{rawFrame(opText, []byte(`{"type":`), false), rawFrame(fin|opText, []byte(`{}`), false)}, websocket.CloseProtocolError},
		{"§5.5.1 close with a one-byte payload", [][]byte{rawFrame(fin|opClose, []byte{3}, false)}, websocket.CloseProtocolError},
		{"§7.4.1 close with code 1005", [][]byte{rawFrame(fin|opClose, closePayload(1005, ""), false)}, websocket.CloseProtocolError},
		{"§7.4.2 close with code 999", [][]byte{rawFrame(fin|opClose, closePayload(999, ""), false)}, websocket.CloseProtocolError},
		{"§7.4.2 close with code 5000", [][]byte{rawFrame(fin|opClose, closePayload(5000, ""), false)}, websocket.CloseProtocolError},
		{"§5.5.1 close reason not UTF-8", [][]byte{rawFrame(fin|opClose, closePayload(1000, "\xff\xfe"), false)}, websocket.CloseInvalidFramePayloadData},
		{"WS-5 fragments over max_message", [][]byte{rawFrame(opText, make([]byte, max/2+1), false), rawFrame(fin|opCont, make([]byte, max/2+1), false)}, websocket.CloseMessageTooBig},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := srv.Dial(t)
			writeRaw(t, ws, tt.frames...)
			if got := closeCodeOf(t, ws); got != tt.code {
				t.Fatalf("unregistered: closed with %d, want %d", got, tt.code)
			}
			c := connect(t, srv, fmt.Sprintf("frames%d", i))
			writeRaw(t, c.ws, tt.frames...) // c's reader reads the close
			c.expectClose(tt.code)
		})
	}
	liveness(t, alice, bob)
}

// TestFragmentsAndControlFrames checks that a message may come in fragments with control frames
// between them (RFC 6455 §5.4), that a ping is answered with its payload (§5.5.2) and that the
// client's close frame is echoed with its code (§5.5.1).
func TestFragmentsAndControlFrames(t *testing.T) {
	srv := servertest.Start(t)
	t.Run("fragments with a ping between them", func(t *testing.T) {
		c := connect(t, srv, "frag")
		writeRaw(t, c.ws,
			rawFrame(opText, []byte(`{"type":"list_users",`), false),
			rawFrame(fin|opPing, []byte("between"), false),
			rawFrame(opCont, []byte(`"id":"frag"`), false),
			rawFrame(opCont, nil, false),
			rawFrame(fin|opCont, []byte(`}`), false))
		if m := c.expect("user_list"); m["id"] != "frag" {
			t.Fatalf("got %s", compact(m))
		}
	})
	t.Run("ping answered with its payload", func(t *testing.T) {
		ws := srv.Dial(t)
		pongs := make(chan string, 1)
		ws.SetPongHandler(func(d string) error { pongs <- d; return nil })
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		payload := strings.Repeat("p", 125)
		writeRaw(t, ws, rawFrame(fin|opPing, []byte(payload), false))
		select {
		case got := <-pongs:
			if got != payload {
				t.Fatalf("pong %q, want %q", got, payload)
			}
		case <-time.After(wait):
			t.Fatal("no pong")
		}
	})
	for _, tt := range []struct {
		name    string
		payload []byte
		code    int
	}{
		{"close 1000 echoed", closePayload(1000, "bye"), 1000},
		{"close 4321 echoed", closePayload(4321, ""), 4321},
		{"empty close echoed empty", nil, websocket.CloseNoStatusReceived},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ws := srv.Dial(t)
			writeRaw(t, ws, rawFrame(fin|opClose, tt.payload, false))
			if got := closeCodeOf(t, ws); got != tt.code {
				t.Fatalf("closed with %d, want %d", got, tt.code)
			}
		})
	}
}

// TestMessageWithTheUpgrade sends a hello in the same write as the upgrade request, so that the
// relay holds it before it has read anything from the upgraded connection: it is answered as
// any hello is (spec §4.2 [WS-13], §5.2 [REG-1]).
func TestMessageWithTheUpgrade(t *testing.T) {
	srv := servertest.Start(t)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, srv.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timescale.Of(10 * time.Second))); err != nil {
		t.Fatal(err)
	}
	req := "GET / HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: blindpost.v1\r\n\r\n"
	hello := rawFrame(fin|opText, []byte(`{"type":"hello","id":"h1","protocol":"blindpost/1","user":"early"}`), false)
	if _, err := conn.Write(append([]byte(req), hello...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", resp.Status)
	}
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, h.Length)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	if !h.Fin || h.Rsv != 0 || h.OpCode != ws.OpText || !strings.Contains(string(payload), `"type":"hello_ack"`) || !strings.Contains(string(payload), `"id":"h1"`) {
		t.Fatalf("the hello sent with the upgrade was answered with frame %+v %s", h, payload)
	}
}
