package serversuite

import (
	"bytes"
	"fmt"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/wsframe"
)

func init() {
	add(harness.Case{ID: "ws/framing/unmasked", Rules: []string{"WS-15", "WS-12"},
		Description: "an unmasked text frame, and an unmasked ping, fail the connection (close 1002 or none) without being handled, registered or not",
		Run:         wsUnmasked})
	add(harness.Case{ID: "ws/framing/reserved-bits", Rules: []string{"WS-17", "WS-12"},
		Description: "RSV1, RSV2, RSV3 and all three on a text frame, RSV2 on a ping and RSV3 on a continuation fail the connection (close 1002 or none), nothing of the frame handled",
		Run:         wsReservedBits})
	add(harness.Case{ID: "ws/framing/reserved-opcodes", Rules: []string{"WS-17", "WS-12"},
		Description: "frames with the reserved opcodes 3 to 7 and 11 to 15, with and without payload, fail the connection (close 1002 or none)",
		Run:         wsReservedOpcodes})
	add(harness.Case{ID: "ws/framing/lengths", Rules: []string{"WS-20", "WS-12"},
		Description: "messages whose lengths take the 7-, 16- and (when max_message allows) 64-bit forms are read; lengths in a longer form than needed are read or fail the connection with 1002, as RFC 6455 leaves open; a 64-bit length with its top bit set fails the connection (1002, 1009 or none) and what follows is not handled",
		Run:         wsLengths})
	add(harness.Case{ID: "ws/framing/control-frames", Rules: []string{"WS-18", "WS-12"},
		Description: "a ping, a pong and a close of 126 bytes, and a ping and a close without FIN, fail the connection (close 1002 or none); no pong answers the ping",
		Run:         wsControlFrames})
	add(harness.Case{ID: "ws/fragmentation/out-of-order", Rules: []string{"WS-19", "WS-12"},
		Description: "a continuation frame with no message begun (final or not), and a text or binary frame inside an unfinished fragmented message, fail the connection (close 1002 or none)",
		Run:         wsFragmentsOutOfOrder})
	add(harness.Case{ID: "ws/fragmentation/messages", Rules: []string{"WS-19", "WS-18", "WS-11", "WS-21"},
		Description: "a message in fragments of one byte, with empty fragments first, between and last, with a ping and an unsolicited pong between its fragments (the ping answered with its data, the message intact), finished only after the pong of a ping sent after its first fragment, written one byte per TLS record, and three messages in one write are each handled as one message",
		Run:         wsFragmentedMessages})
	add(harness.Case{ID: "ws/ping/payloads", Rules: []string{"WS-11", "WS-16"},
		Description: "pings carrying nothing, text, 125 bytes of binary that is not UTF-8, and one written a byte per TLS record are each answered by a pong carrying their data; of five pings sent at once, the last is answered and any earlier pong carries an earlier ping's data, in order",
		Run:         wsPingPayloads})
	add(harness.Case{ID: "ws/pong/unsolicited", Rules: []string{"WS-21"},
		Description: "pongs that answer no ping (empty, and of 125 bytes) get no answer and leave the connection serving: the next frame is the answer to list_users",
		Run:         wsUnsolicitedPong})
}

// wsVariants runs one connection per variant: the odd ones registered and the even ones after
// hello only, so that the frame layer is checked before and after registration.
func wsVariants[V any](t *harness.T, role string, variants []V, run func(c *wsConn, v V)) {
	for i, v := range variants {
		run(openWS(t, role, i%2 == 1), v)
	}
}

func wsUnmasked(t *harness.T) {
	wsVariants(t, "unmasked", []int{0, 1, 2, 3}, func(c *wsConn, i int) {
		if i < 2 {
			data, _ := c.listUsers()
			f := c.text(data)
			f.Masked = false
			c.send(f)
			c.expectFailed("WS-15", "an unmasked text frame")
			return
		}
		f := c.control(wsframe.OpPing, []byte("unmasked"))
		f.Masked = false
		c.send(f)
		c.expectFailed("WS-15", "an unmasked ping")
	})
}

func wsReservedBits(t *harness.T) {
	type variant struct {
		name string
		op   byte
		rsv  byte
	}
	wsVariants(t, "rsv", []variant{
		{"RSV1 on a text frame", wsframe.OpText, wsframe.RSV1},
		{"RSV2 on a text frame", wsframe.OpText, wsframe.RSV2},
		{"RSV3 on a text frame", wsframe.OpText, wsframe.RSV3},
		{"every RSV bit on a text frame", wsframe.OpText, 7},
		{"RSV2 on a ping", wsframe.OpPing, wsframe.RSV2},
		{"RSV3 on a continuation", wsframe.OpContinuation, wsframe.RSV3},
	}, func(c *wsConn, v variant) {
		data, _ := c.listUsers()
		switch v.op {
		case wsframe.OpText:
			f := c.text(data)
			f.RSV = v.rsv
			c.send(f)
		case wsframe.OpPing:
			f := c.control(wsframe.OpPing, []byte("rsv"))
			f.RSV = v.rsv
			c.send(f)
		default:
			fr := c.fragments(wsframe.OpText, data, 4)
			fr[1].RSV = v.rsv
			c.send(fr...)
		}
		c.expectFailed("WS-17", v.name)
	})
}

func wsReservedOpcodes(t *harness.T) {
	ops := []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15}
	wsVariants(t, "opcode", ops, func(c *wsConn, op byte) {
		var payload []byte
		if op%2 == 0 {
			payload = []byte("reserved")
		}
		c.send(c.frame(true, op, payload))
		c.expectFailed("WS-17", fmt.Sprintf("a frame with reserved opcode %d", op))
	})
}

func wsLengths(t *harness.T) {
	c := openWS(t, "lengths", true)
	limit := int(c.Limits.MaxMessage)
	// spec §4.2 [WS-20]: every form up to max_message: 125 bytes (7 bits), 126 and 65535 (16
	// bits), 65536 (64 bits), each as far as the limit allows.
	for _, n := range []int{125, 126, 1000, 65535, 65536} {
		if n > limit {
			t.Logf("a message of %d bytes is over max_message %d: not sent", n, limit)
			continue
		}
		data, id := c.listUsers()
		c.send(c.text(padTo(data, n)))
		c.expectResponse("WS-20", id, "user_list", fmt.Sprintf("a message of %d bytes", n))
	}
	// Lengths in a longer form than needed: RFC 6455 §5.2 asks the sender for the minimal form
	// but does not say what the receiver does; reading them and failing the connection both pass.
	for _, form := range []int{wsframe.Length16, wsframe.Length64} {
		data, id := c.listUsers()
		f := c.text(data)
		f.LengthForm = form
		c.send(f)
		r := c.next(fmt.Sprintf("the answer to list_users with its length in the %d-bit form", form))
		switch {
		case r.Kind == KindText && r.Type == "user_list" && r.Str("id") == id:
			t.Logf("a %d-byte length in the %d-bit form was read", len(data), form)
			continue
		case r.Kind == KindClose && r.Code == 1002, r.Kind == KindDropped:
			t.Logf("a %d-byte length in the %d-bit form failed the connection: %s", len(data), form, r.Short())
		default:
			t.Mismatch("WS-20", fmt.Sprintf("user_list answering %s, or the connection failed with 1002", id), describeWS(r))
		}
		c = openWS(t, "lengths", true)
	}
	// The top bit of a 64-bit length must be 0: a server that reads the length as a signed
	// number takes it for a negative one, which passes a size check. A ping follows, and the
	// runner then ends its side, so that a server waiting for the announced bytes reads the end.
	c = openWS(t, "lengths", false)
	c.sendHeader(true, wsframe.OpText, 1<<63|16, wsframe.Length64)
	c.send(c.control(wsframe.OpPing, []byte("after the length")))
	c.closeWrite()
	c.expectFailed("WS-20", "a 64-bit length with its top bit set", 1002, 1009)
}

func wsControlFrames(t *harness.T) {
	type variant struct {
		name string
		f    func(c *wsConn) wsframe.Frame
	}
	long := bytes.Repeat([]byte("x"), wsframe.MaxControlPayload+1)
	wsVariants(t, "control", []variant{
		{"a ping of 126 bytes", func(c *wsConn) wsframe.Frame { return c.control(wsframe.OpPing, long) }},
		{"a pong of 126 bytes", func(c *wsConn) wsframe.Frame { return c.control(wsframe.OpPong, long) }},
		{"a close of 126 bytes", func(c *wsConn) wsframe.Frame {
			return c.control(wsframe.OpClose, wsframe.ClosePayload(1000, string(long[:124])))
		}},
		{"a ping without FIN", func(c *wsConn) wsframe.Frame { return c.frame(false, wsframe.OpPing, []byte("no fin")) }},
		{"a close without FIN", func(c *wsConn) wsframe.Frame {
			return c.frame(false, wsframe.OpClose, wsframe.ClosePayload(1000, ""))
		}},
	}, func(c *wsConn, v variant) {
		f := v.f(c)
		if f.Opcode == wsframe.OpClose {
			c.closeSent.Store(true)
		}
		// No pong may answer the ping, though the server may read it whole before failing.
		c.send(f)
		c.expectFailed("WS-18", v.name)
	})
}

func wsFragmentsOutOfOrder(t *harness.T) {
	type variant struct {
		name   string
		frames func(c *wsConn, data []byte) []wsframe.Frame
	}
	wsVariants(t, "fragments", []variant{
		{"a final continuation frame with no message begun", func(c *wsConn, data []byte) []wsframe.Frame {
			return []wsframe.Frame{c.frame(true, wsframe.OpContinuation, data)}
		}},
		{"a continuation frame with no message begun, then the rest", func(c *wsConn, data []byte) []wsframe.Frame {
			return []wsframe.Frame{c.frame(false, wsframe.OpContinuation, data[:4]), c.frame(true, wsframe.OpContinuation, data[4:])}
		}},
		{"a text frame inside a fragmented text message", func(c *wsConn, data []byte) []wsframe.Frame {
			return []wsframe.Frame{c.frame(false, wsframe.OpText, data[:4]), c.frame(true, wsframe.OpText, data)}
		}},
		{"a binary frame inside a fragmented text message", func(c *wsConn, data []byte) []wsframe.Frame {
			return []wsframe.Frame{c.frame(false, wsframe.OpText, data[:4]), c.frame(true, wsframe.OpBinary, data)}
		}},
		{"a text frame inside a fragmented text message, not final", func(c *wsConn, data []byte) []wsframe.Frame {
			return []wsframe.Frame{c.frame(false, wsframe.OpText, data[:4]), c.frame(false, wsframe.OpText, data[4:]), c.frame(true, wsframe.OpContinuation, nil)}
		}},
	}, func(c *wsConn, v variant) {
		data, _ := c.listUsers()
		c.send(v.frames(c, data)...)
		c.expectFailed("WS-19", v.name)
	})
}

func wsFragmentedMessages(t *harness.T) {
	c := openWS(t, "fragmented", true)
	ones := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	// One byte per fragment.
	data, id := c.listUsers()
	c.send(c.fragments(wsframe.OpText, data, ones(len(data)-1)...)...)
	c.expectResponse("WS-19", id, "user_list", "list_users in fragments of one byte")
	// Empty fragments: first, between and last.
	data, id = c.listUsers()
	c.send(c.fragments(wsframe.OpText, data, 0, 5, 0, 0, 7, len(data))...)
	c.expectResponse("WS-19", id, "user_list", "list_users with empty fragments")
	// A ping and an unsolicited pong between the fragments (RFC 6455 §5.4): the ping is
	// answered at once, with its data (WS-11), the pong is not (WS-21), the message is whole.
	data, id = c.listUsers()
	fr := c.fragments(wsframe.OpText, data, 6, 6)
	ping := []byte("between fragments")
	c.send(fr[0], c.control(wsframe.OpPing, ping), fr[1], c.control(wsframe.OpPong, []byte("unsolicited")), fr[2])
	c.expectPong("WS-18", ping, "a ping between the fragments of a message")
	c.expectResponse("WS-18", id, "user_list", "list_users with a ping and a pong between its fragments")
	// A message left unfinished while the connection waits: the first fragment and a ping, and
	// only after the pong (the server has read both) the rest, so that the server holds a
	// message begun across an idle wait.
	data, id = c.listUsers()
	fr = c.fragments(wsframe.OpText, data, 9)
	ping = []byte("inside an unfinished message")
	c.send(fr[0], c.control(wsframe.OpPing, ping))
	c.expectPong("WS-18", ping, "a ping after the first fragment of a message")
	c.send(fr[1])
	c.expectResponse("WS-19", id, "user_list", "list_users finished after a pong")
	// Every byte its own TLS record: frame headers and payloads arrive in pieces.
	data, id = c.listUsers()
	c.sendChopped(c.fragments(wsframe.OpText, data, 3, 10)...)
	c.expectResponse("WS-19", id, "user_list", "list_users written one byte per TLS record")
	// Three messages in one write: three answers, in order.
	var frames []wsframe.Frame
	var ids []string
	for range 3 {
		data, id := c.listUsers()
		frames, ids = append(frames, c.text(data)), append(ids, id)
	}
	c.send(frames...)
	for _, id := range ids {
		c.expectResponse("WS-19", id, "user_list", "one of three messages written at once")
	}
}

func wsPingPayloads(t *harness.T) {
	c := openWS(t, "pinger", true)
	binary := Random(t, wsframe.MaxControlPayload)
	binary[0], binary[1] = 0xff, 0xfe // never UTF-8: the data is bytes, not text
	for _, p := range []struct {
		name string
		data []byte
	}{{"an empty ping", nil}, {"a ping carrying text", []byte("Hello, relay")}, {"a ping of 125 bytes of binary", binary}} {
		c.send(c.control(wsframe.OpPing, p.data))
		c.expectPong("WS-11", p.data, p.name)
	}
	chopped := []byte("chopped ping")
	c.sendChopped(c.control(wsframe.OpPing, chopped))
	c.expectPong("WS-11", chopped, "a ping written one byte per TLS record")
	// Five at once: RFC 6455 §5.5.3 lets the server answer only the latest of the pings that
	// wait for their pong, so any subset in order passes when it ends with the last.
	var pings []wsframe.Frame
	var datas []string
	for i := range 5 {
		d := fmt.Sprintf("ping %d of 5", i+1)
		pings, datas = append(pings, c.control(wsframe.OpPing, []byte(d))), append(datas, d)
	}
	c.send(pings...)
	next := 0
	for next < len(datas) {
		f := c.next("the pong answering the last of five pings")
		i := indexFrom(datas, next, string(f.Data))
		if f.Kind != kindPong || i < 0 {
			t.FatalMismatch("WS-11", "pongs carrying the data of the five pings in order, the last included", describeWS(f))
		}
		next = i + 1
	}
	c.alive("WS-11", "the pings")
}

// indexFrom returns the index of s in list at from or after, or -1.
func indexFrom(list []string, from int, s string) int {
	for i := from; i < len(list); i++ {
		if list[i] == s {
			return i
		}
	}
	return -1
}

func wsUnsolicitedPong(t *harness.T) {
	wsVariants(t, "ponger", []int{0, 1}, func(c *wsConn, _ int) {
		c.send(c.control(wsframe.OpPong, nil), c.control(wsframe.OpPong, Random(t, wsframe.MaxControlPayload)))
		// The answer to list_users must be the very next frame: no pong, no close before it.
		c.alive("WS-21", "two unsolicited pongs")
	})
}
