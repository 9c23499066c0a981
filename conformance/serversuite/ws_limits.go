package serversuite

import (
	"fmt"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/wsframe"
)

func init() {
	add(harness.Case{ID: "ws/limits/fragmented", Rules: []string{"WS-24", "WS-5"},
		Description: "a message of exactly max_message bytes in fragments is handled; one byte more in fragments closes the connection with 1009, registered or not",
		Run:         wsLimitsFragmented})
	add(harness.Case{ID: "ws/limits/announced", Rules: []string{"WS-24", "WS-20"},
		Description: "a frame header announcing max_message+1 bytes, a continuation header that takes a message over max_message, and a 64-bit length of 2^62, none followed by its payload, each close the connection with 1009 at once",
		Run:         wsLimitsAnnounced})
	add(harness.Case{ID: "ws/utf8/fragmented", Rules: []string{"WS-25", "WS-4"},
		Description: "characters of two, three and four bytes split between fragments and between TLS records are valid UTF-8 and do not close the connection; invalid UTF-8 in a middle fragment, and a character cut short by the end of the message, close it with 1007 (after at most a bad_message without id), whether the server fails at the fragment or at the end of the message",
		Run:         wsUTF8Fragmented})
	add(harness.Case{ID: "ws/binary/fragmented", Rules: []string{"WS-3", "ERR-2"},
		Description: "a binary message in fragments, and an empty binary message, get an error bad_message without id or for, then close 1003",
		Run:         wsBinaryFragmented})
}

// expectCode reads until the close, which must carry code; text messages before it are
// allowed only when explain (at most one error bad_message without id and for, ERR-2), and
// required when must.
func (c *wsConn) expectCode(rule string, code int, what string, explain, must bool) {
	explained := false
	for {
		f := c.next(fmt.Sprintf("close %d for %s", code, what))
		switch {
		case f.Kind == KindText && explain && !explained && f.Type == "error" && f.Str("code") == "bad_message" && !f.Has("id") && !f.Has("for"):
			explained = true
			continue
		case f.Kind == KindText || f.Kind == kindPong:
			c.t.Mismatch(rule, fmt.Sprintf("close %d for %s", code, what), describeWS(f))
			continue
		case f.Kind == KindClose && f.Code == code:
		default:
			c.t.Mismatch(rule, fmt.Sprintf("close %d for %s", code, what), describeWS(f))
		}
		if must && !explained {
			c.t.MismatchMsg("ERR-2", fmt.Sprintf("an error bad_message without id and for before close %d", code), describeWS(f),
				"the server closed %s without the error that explains why", c.label)
		}
		return
	}
}

func wsLimitsFragmented(t *harness.T) {
	c := openWS(t, "limit", true)
	limit := int(c.Limits.MaxMessage)
	data, id := c.listUsers()
	exact := padTo(data, limit)
	c.send(c.fragments(wsframe.OpText, exact, 1, limit/3, 0, limit/3)...)
	c.expectResponse("WS-24", id, "user_list", fmt.Sprintf("list_users of exactly max_message (%d) bytes in five fragments", limit))
	for _, registered := range []bool{true, false} {
		if !registered {
			c = openWS(t, "limit-early", false)
		}
		data, _ := c.listUsers()
		over := padTo(data, limit+1)
		c.send(c.fragments(wsframe.OpText, over, limit/2, limit/2)...)
		c.expectCode("WS-24", 1009, fmt.Sprintf("a message of max_message+1 (%d) bytes in three fragments", limit+1), false, false)
	}
}

func wsLimitsAnnounced(t *harness.T) {
	type variant struct {
		name string
		send func(c *wsConn, limit int)
	}
	wsVariants(t, "announced", []variant{
		{"a header announcing max_message+1 bytes", func(c *wsConn, limit int) {
			c.sendHeader(true, wsframe.OpText, uint64(limit+1), wsframe.LengthMinimal)
		}},
		{"a continuation header that takes the message over max_message", func(c *wsConn, limit int) {
			data, _ := c.listUsers()
			c.send(c.frame(false, wsframe.OpText, padTo(data, limit-10)))
			c.sendHeader(true, wsframe.OpContinuation, 11, wsframe.LengthMinimal)
		}},
		{"a 64-bit length of 2^62", func(c *wsConn, _ int) {
			c.sendHeader(true, wsframe.OpText, 1<<62, wsframe.Length64)
		}},
	}, func(c *wsConn, v variant) {
		// spec §4.2 [WS-24]: the header is enough; the payload is never sent, so a server
		// that waits for it before judging the size times out here.
		v.send(c, int(c.Limits.MaxMessage))
		c.expectCode("WS-24", 1009, v.name, false, false)
	})
}

func wsUTF8Fragmented(t *harness.T) {
	c := openWS(t, "utf8", true)
	// Valid: every character split between fragments, then between TLS records. The member is
	// unknown, so the answer is bad_message (ERR-3), and the connection stays.
	id := c.id()
	valid := fmt.Appendf(nil, `{"type":"list_users","id":"%s","x":"é€𝄞"}`, id)
	ones := make([]int, len(valid)-1)
	for i := range ones {
		ones[i] = 1
	}
	c.send(c.fragments(wsframe.OpText, valid, ones...)...)
	c.expectResponse("WS-25", id, "error", "an unknown member holding characters split between fragments")
	id = c.id()
	valid = fmt.Appendf(nil, `{"type":"list_users","id":"%s","x":"é€𝄞"}`, id)
	c.sendChopped(c.fragments(wsframe.OpText, valid, len(valid)-6)...)
	c.expectResponse("WS-25", id, "error", "an unknown member holding characters split between TLS records")
	c.alive("WS-25", "characters split between fragments")
	// Invalid: RFC 6455 §8.1 lets the server fail at the fragment that shows it or at the end
	// of the message; the runner sends the whole message at once, so both give close 1007.
	for i, v := range []struct {
		name string
		data []byte
	}{
		{"0xff in a middle fragment", []byte("{\"type\":\"list_users\",\"x\":\"a\xffb\"}")},
		{"a four-byte character cut short by the end of the message", []byte("{\"type\":\"list_users\",\"x\":\"\xf0\x9d\x84")},
	} {
		if i > 0 {
			c = openWS(t, "utf8-early", false)
		} else {
			c = openWS(t, "utf8", true)
		}
		c.send(c.fragments(wsframe.OpText, v.data, 20, 9)...)
		c.expectCode("WS-25", 1007, v.name, true, false)
	}
}

func wsBinaryFragmented(t *harness.T) {
	c := openWS(t, "binary", true)
	data, _ := c.listUsers()
	c.send(c.fragments(wsframe.OpBinary, data, 5, 5)...)
	c.expectCode("WS-3", 1003, "a binary message in three fragments", true, true)
	c = openWS(t, "binary-early", false)
	c.send(c.frame(true, wsframe.OpBinary, nil))
	c.expectCode("WS-3", 1003, "an empty binary message", true, true)
}
