package server

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/gobwas/ws"
	"pgregory.net/rapid"
)

// fuzzConn returns a registered connection without a socket whose frames come from src, with a
// max_message of 1024 bytes so that the 1009 path is reached.
func fuzzConn(t testing.TB, src io.Reader) *conn {
	cfg := DefaultConfig()
	cfg.MaxMessage, cfg.Rate, cfg.Burst = 1024, 1000000, 1000000
	s := &Server{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := &conn{s: s, cork: &corkConn{Conn: tls.Server(a, &tls.Config{})}, quit: make(chan struct{})}
	c.flow.init(&s.cfg)
	c.writing = true // nothing is written: what the reader queues (pongs) stays queued
	c.frames.in.src = src
	return c
}

// clientFrame is one masked client frame.
func clientFrame(b0 byte, payload []byte) []byte {
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	mask := [4]byte{9, 8, 7, 6}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i%4])
	}
	return out
}

// FuzzReadFrames feeds arbitrary bytes to the frame reader as a client's stream. Whatever they
// are, it never panics or hangs; every message it returns is a text or binary message within
// max_message that reads back the same from a single frame; and it ends with the end of the
// input or with a typed failure: 1002, 1007 or 1009 (RFC 6455 §7.4.1, spec §4.2 [WS-5]), or the
// client's close with a code a client may send.
func FuzzReadFrames(f *testing.F) {
	seeds := [][]byte{
		clientFrame(0x81, []byte(`{"type":"list_users"}`)),
		append(append(clientFrame(0x01, []byte(`{"type":`)), clientFrame(0x89, []byte("ping"))...), clientFrame(0x80, []byte(`"list_users"}`))...),
		clientFrame(0x88, binary.BigEndian.AppendUint16(nil, 1000)),
		clientFrame(0x88, []byte{3}),
		clientFrame(0x82, []byte{1, 2, 3}),
		clientFrame(0xc1, []byte("rsv")),
		{0x81, 0x05, 'h', 'e', 'l', 'l', 'o'}, // unmasked
		clientFrame(0x81, make([]byte, 2000)),
		clientFrame(0x89, make([]byte, 126)),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := fuzzConn(t, bytes.NewReader(data))
		for {
			op, msg, escaped, err := c.readMessage()
			if err != nil {
				checkReadError(t, err)
				return
			}
			if escaped {
				continue
			}
			if op != ws.OpText && op != ws.OpBinary {
				t.Fatalf("a message with opcode %v", op)
			}
			if len(msg) > c.s.cfg.MaxMessage {
				t.Fatalf("a message of %d bytes, over max_message %d", len(msg), c.s.cfg.MaxMessage)
			}
			again := fuzzConn(t, bytes.NewReader(clientFrame(0x80|byte(op), msg)))
			op2, msg2, _, err := again.readMessage()
			if err != nil || op2 != op || !bytes.Equal(msg2, msg) {
				t.Fatalf("the message does not read back from one frame: %v %v", op2, err)
			}
		}
	})
}

// checkReadError fails unless err is one the reader may end with.
func checkReadError(t *testing.T, err error) {
	var failure *wsFailure
	var closed *peerClosed
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
	case errors.As(err, &failure):
		if failure.code != closeProtocolError && failure.code != closeInvalidPayload && failure.code != closeTooBig {
			t.Fatalf("a failure with close code %d", failure.code)
		}
	case errors.As(err, &closed):
		if closed.code != closeNoStatus && !validCloseCode(closed.code) {
			t.Fatalf("the client's close with code %d was accepted", closed.code)
		}
	default:
		t.Fatalf("the reader ended with %v", err)
	}
}

// TestParseHeader checks the reader's frame headers against ws.ReadHeaderBuffer, which reads
// them where a header is not held whole: on any bytes, the same header or the same error, and
// as many bytes consumed.
func TestParseHeader(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		b := rapid.SliceOfN(rapid.Byte(), 0, 20).Draw(rt, "bytes")
		if len(b) > 1 && rapid.Bool().Draw(rt, "extended length") {
			b[1] |= rapid.SampledFrom([]byte{126, 127}).Draw(rt, "length code")
		}
		var in inBuffer
		in.src = bytes.NewReader(nil)
		in.hold(b)
		got, err := in.readHeader(make([]byte, ws.MaxHeaderSize))
		r := bytes.NewReader(b)
		want, werr := ws.ReadHeaderBuffer(r, make([]byte, ws.MaxHeaderSize))
		if got != want || !errors.Is(err, werr) || in.buffered() != r.Len() {
			rt.Fatalf("% x: read %+v, %v, %d left; ws.ReadHeaderBuffer %+v, %v, %d left", b, got, err, in.buffered(), want, werr, r.Len())
		}
	})
}
