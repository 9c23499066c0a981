package serversuite

import (
	"fmt"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/wsframe"
	"github.com/blindpost/blindpost/impl/wire"
)

func init() {
	add(harness.Case{ID: "ws/close/valid-codes", Rules: []string{"WS-22", "WS-16"},
		Description: "a close frame with each code a client may send (1000 to 1003, 1007 to 1011, 3000, 3999, 4000, 4999), with none, with a reason of 123 bytes of UTF-8, and followed by list_users in the same write is answered by a close frame (the same code, 1000 or none) and then the end of the TCP connection, nothing else before or after it",
		Run:         wsCloseValid})
	add(harness.Case{ID: "ws/close/invalid-codes", Rules: []string{"WS-23", "WS-12"},
		Description: "a close frame with a code RFC 6455 §7.4 keeps off the wire (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535) fails the connection (close 1002 or none)",
		Run:         wsCloseInvalid})
	add(harness.Case{ID: "ws/close/bad-payloads", Rules: []string{"WS-23", "WS-12"},
		Description: "a close frame whose reason is not UTF-8 fails the connection (close 1002 or 1007, or none); one of a single byte ends it (close 1002, a close frame without code, or none)",
		Run:         wsCloseBadPayloads})
}

// closeCodesValid are the codes a client may send that every server must accept (RFC 6455
// §7.4.1 and the IANA registry); 1012 to 1014, registered after the RFC, are left out, as
// stacks differ on them.
var closeCodesValid = []uint16{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}

// closeCodesInvalid are codes no endpoint may send (RFC 6455 §7.4).
var closeCodesInvalid = []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}

func wsCloseValid(t *harness.T) {
	type variant struct {
		name    string
		payload []byte
		code    int
	}
	var vs []variant
	for _, code := range closeCodesValid {
		vs = append(vs, variant{fmt.Sprintf("close %d", code), wsframe.ClosePayload(code, ""), int(code)})
	}
	vs = append(vs, variant{"a close frame without code", nil, closeNoCode},
		variant{"close 1000 with a reason of 123 bytes", wsframe.ClosePayload(1000, strings.Repeat("é", 61)+"!"), 1000})
	after := enc(&wire.ListUsers{ID: "after-close"})
	vs = append(vs, variant{"close 1000 with list_users after it in the same write", wsframe.ClosePayload(1000, ""), 1000})
	wsVariants(t, "closer", vs, func(c *wsConn, v variant) {
		c.sendClose(v.payload)
		if strings.Contains(v.name, "list_users after it") {
			// Nothing after a close frame is read (RFC 6455 §5.5.1): no user_list may come.
			c.send(c.text(after))
		}
		// spec §4.2 [WS-22]: the server answers the close, and then ends the connection.
		f := c.next("the close frame answering " + v.name)
		switch {
		case f.Kind == KindClose && (f.Code == v.code || f.Code == 1000 || f.Code == closeNoCode):
			c.expectEnd("WS-22", v.name)
		case f.Kind == KindClose && v.code != closeNoCode:
			t.Mismatch("WS-22", fmt.Sprintf("close %d, 1000 or a close without code answering %s", v.code, v.name), describeWS(f))
		default:
			t.Mismatch("WS-22", "a close frame answering "+v.name, describeWS(f))
		}
	})
}

func wsCloseInvalid(t *harness.T) {
	wsVariants(t, "closer", closeCodesInvalid, func(c *wsConn, code uint16) {
		c.sendClose(wsframe.ClosePayload(code, ""))
		c.expectFailed("WS-23", fmt.Sprintf("close code %d", code))
	})
}

func wsCloseBadPayloads(t *harness.T) {
	c := openWS(t, "closer", true)
	c.sendClose(append(wsframe.ClosePayload(1000, "reason "), 0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64))
	// RFC 6455 §8.1 fails the connection on invalid UTF-8, and 1007 names it; 1002 is what a
	// malformed close frame gets: both pass.
	c.expectFailed("WS-23", "a close reason that is not UTF-8", 1002, 1007)
	// One byte cannot hold a close code (RFC 6455 §5.5.1): a protocol error, which many stacks
	// treat as a close without code; the connection ends either way.
	c = openWS(t, "closer", false)
	c.sendClose([]byte{0x03})
	f := c.next("the end of the connection after a close frame of one byte")
	switch {
	case f.Kind == KindDropped:
	case f.Kind == KindClose && (f.Code == 1002 || f.Code == closeNoCode):
		c.expectEnd("WS-23", "a close frame of one byte")
	default:
		t.Mismatch("WS-23", "close 1002, a close frame without code, or the end of the connection answering a close frame of one byte", describeWS(f))
	}
}
