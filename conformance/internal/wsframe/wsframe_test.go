package wsframe

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/websocket"
	"pgregory.net/rapid"
)

// TestRFCExamples writes and reads the examples of RFC 6455 §5.7, and the key of §1.3.
func TestRFCExamples(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, tc := range []struct {
		name string
		f    Frame
		want []byte
	}{
		{"unmasked text", Frame{Fin: true, Opcode: OpText, Payload: []byte("Hello")}, []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"masked text", Frame{Fin: true, Opcode: OpText, Masked: true, Key: key, Payload: []byte("Hello")},
			[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"first fragment", Frame{Opcode: OpText, Payload: []byte("Hel")}, []byte{0x01, 0x03, 0x48, 0x65, 0x6c}},
		{"last fragment", Frame{Fin: true, Opcode: OpContinuation, Payload: []byte("lo")}, []byte{0x80, 0x02, 0x6c, 0x6f}},
		{"unmasked ping", Frame{Fin: true, Opcode: OpPing, Payload: []byte("Hello")}, []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"256 bytes", Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, 256)}, append([]byte{0x82, 0x7E, 0x01, 0x00}, make([]byte, 256)...)},
		{"64 KiB", Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, 65536)}, append([]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 65536)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Append(nil, tc.f)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Append = % x, want % x", got[:min(len(got), 16)], tc.want[:min(len(tc.want), 16)])
			}
			back, err := ReadFrame(bufio.NewReader(bytes.NewReader(got)), 1<<20)
			if err != nil || !bytes.Equal(back.Payload, tc.f.Payload) || back.Opcode != tc.f.Opcode || back.Fin != tc.f.Fin || back.Masked != tc.f.Masked {
				t.Fatalf("ReadFrame = %+v, %v", back, err)
			}
		})
	}
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("AcceptKey = %q", got)
	}
}

func frameGen() *rapid.Generator[Frame] {
	return rapid.Custom(func(t *rapid.T) Frame {
		f := Frame{
			Fin:    rapid.Bool().Draw(t, "fin"),
			RSV:    rapid.ByteRange(0, 7).Draw(t, "rsv"),
			Opcode: rapid.ByteRange(0, 15).Draw(t, "op"),
			Masked: rapid.Bool().Draw(t, "masked"),
		}
		copy(f.Key[:], rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "key"))
		f.Payload = rapid.SliceOfN(rapid.Byte(), 0, 70000).Draw(t, "payload")
		f.LengthForm = rapid.SampledFrom([]int{LengthMinimal, Length16, Length64}).Draw(t, "form")
		if len(f.Payload) > 0xFFFF && f.LengthForm == Length16 {
			f.LengthForm = Length64
		}
		return f
	})
}

// TestRoundTrip: every frame written reads back the same, in every length form; and no prefix
// of a frame reads as a frame.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := frameGen().Draw(t, "frame")
		b := Append(nil, f)
		back, err := ReadFrame(bufio.NewReader(bytes.NewReader(b)), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		want := f.LengthForm
		if want == LengthMinimal {
			want = minimalForm(uint64(len(f.Payload)))
		}
		if back.Fin != f.Fin || back.RSV != f.RSV || back.Opcode != f.Opcode || back.Masked != f.Masked ||
			(f.Masked && back.Key != f.Key) || !bytes.Equal(back.Payload, f.Payload) || back.LengthForm != want {
			t.Fatalf("read %+v back as %+v", f, back)
		}
		cut := rapid.IntRange(0, len(b)-1).Draw(t, "cut")
		if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(b[:cut])), 1<<20); err == nil {
			t.Fatalf("a prefix of %d of %d bytes read as a frame", cut, len(b))
		} else if cut > 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("a prefix of %d bytes: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	})
}

func TestReadFrameLimit(t *testing.T) {
	h := AppendHeader(nil, true, 0, OpText, false, [4]byte{}, 1<<63, Length64)
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(h)), 1<<20); !errors.Is(err, ErrTooLong) {
		t.Fatalf("a header announcing 2^63 bytes: %v, want ErrTooLong", err)
	}
}

func TestParseClose(t *testing.T) {
	if code, reason, ok := ParseClose(ClosePayload(1001, "bye")); !ok || code != 1001 || string(reason) != "bye" {
		t.Errorf("ParseClose = %d %q %v", code, reason, ok)
	}
	if _, _, ok := ParseClose([]byte{3}); ok {
		t.Error("a 1-byte close payload parsed")
	}
	for code, want := range map[uint16]bool{999: false, 1000: true, 1003: true, 1004: false, 1005: false, 1006: false,
		1007: true, 1014: true, 1015: false, 1016: false, 2999: false, 3000: true, 4999: true, 5000: false} {
		if SendableCloseCode(code) != want {
			t.Errorf("SendableCloseCode(%d) = %v", code, !want)
		}
	}
}

// FuzzReadFrame: any bytes give a frame or an error, never a panic, and a frame read writes
// back as the same bytes.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add([]byte{0x82, 0x7E, 0x00, 0x01, 0x00})
	f.Add([]byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ReadFrame(bufio.NewReader(bytes.NewReader(b)), 4096)
		if err != nil {
			return
		}
		if got := Append(nil, fr); !bytes.Equal(got, b[:len(got)]) {
			t.Fatalf("% x read as %+v writes back as % x", b, fr, got)
		}
	})
}

// TestUpgrade upgrades against gorilla/websocket's server, exchanges a masked text message and
// a ping, and checks that a request with another version is refused.
func TestUpgrade(t *testing.T) {
	up := websocket.Upgrader{Subprotocols: []string{"blindpost.v1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		typ, data, err := ws.ReadMessage()
		if err == nil {
			_ = ws.WriteMessage(typ, data)
		}
	}))
	defer srv.Close()
	dial := func(req Request) (net.Conn, *bufio.Reader, *http.Response) {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		req.Host = srv.Listener.Addr().String()
		br := bufio.NewReader(conn)
		resp, err := Upgrade(conn, br, req)
		if err != nil {
			t.Fatal(err)
		}
		return conn, br, resp
	}
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	conn, br, resp := dial(Request{Key: key, Protocols: []string{"chat", "blindpost.v1"}})
	if bad := CheckSwitch(resp, key); bad != "" || resp.Header.Get("Sec-WebSocket-Protocol") != "blindpost.v1" {
		t.Fatalf("switch: %s, protocol %q", bad, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	f := Frame{Fin: true, Opcode: OpText, Masked: true, Key: [4]byte{1, 2, 3, 4}, Payload: []byte("héllo")}
	if _, err := conn.Write(Append(nil, f)); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFrame(br, 1024)
	if err != nil || back.Opcode != OpText || back.Masked || string(back.Payload) != "héllo" {
		t.Fatalf("echo: %+v, %v", back, err)
	}
	_, _, resp = dial(Request{Key: key, Header: http.Header{"Sec-Websocket-Version": {"8"}}})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("version 8: HTTP %d, Sec-WebSocket-Version %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Version"))
	}
	if CheckSwitch(resp, key) == "" {
		t.Fatal("CheckSwitch accepts a refusal")
	}
}
