package serversuite

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/internal/wsframe"
	"github.com/blindpost/blindpost/impl/wire"
)

// The ws/ cases check the relay's WebSocket layer against RFC 6455 in the manner of the
// Autobahn|Testsuite server cases (handshake, framing, pings and pongs, reserved bits and
// opcodes, fragmentation, UTF-8, close codes, limits), with frames the runner writes itself
// (package wsframe), so that any relay's frame layer can be held to what spec §4.2 requires.
// Every size comes from hello_ack.limits. Where RFC 6455 lets a server fail at once or after
// reading the offending frame whole, or close with or without a close frame, every allowed
// behaviour passes, and the case says so.
func init() {
	add(harness.Case{ID: "ws/handshake/accept", Rules: []string{"WS-13", "WS-14", "WS-1", "WS-17"},
		Description: "a valid upgrade offering blindpost.v1 and permessage-deflate is answered 101 with the Sec-WebSocket-Accept of the key, the subprotocol and no extension; a frame with RSV1 set, as a compressed message would be, then fails the connection",
		Run:         wsHandshakeAccept})
	add(harness.Case{ID: "ws/handshake/refusals", Rules: []string{"WS-13"},
		Description: "upgrade requests RFC 6455 §4.2.1 does not allow (not GET; no Upgrade or Connection token; no, short or non-base64 Sec-WebSocket-Key; Sec-WebSocket-Version 8 or none) are refused with a 4xx status, the version refusal with Sec-WebSocket-Version: 13",
		Run:         wsHandshakeRefusals})
}

func wsHandshakeAccept(t *harness.T) {
	// The key of RFC 6455 §1.3 first, whose accept value the RFC prints, then fresh ones.
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	_, _, resp, err := upgradeRaw(t, "rfc-key", wsframe.Request{Key: key, Protocols: []string{wire.Subprotocol}})
	switch {
	case err != nil:
		t.Fatalf("upgrade: %v", err)
	case resp.StatusCode == http.StatusSwitchingProtocols && resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=":
		t.Mismatch("WS-13", "Sec-WebSocket-Accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo= for the key of RFC 6455 §1.3", resp.Header.Get("Sec-WebSocket-Accept"))
	case resp.StatusCode != http.StatusSwitchingProtocols:
		t.Mismatch("WS-13", "101 for a valid upgrade", fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
	// Extensions offered as browsers offer them; dialWS checks none is accepted (WS-14).
	offer := http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits", "x-webkit-deflate-frame"}}
	c := dialWS(t, "deflate", offer)
	c.hello(Name(t, "deflate"))
	// A message compressed as permessage-deflate would have it: RSV1 set. Without the
	// extension the bit is reserved (WS-17).
	data, _ := c.listUsers()
	f := c.text(data)
	f.RSV = wsframe.RSV1
	c.send(f)
	c.expectFailed("WS-17", "a text frame with RSV1 set and no extension negotiated")
}

func wsHandshakeRefusals(t *harness.T) {
	// A valid request first: a server that refuses everything refuses nothing in particular.
	dialWS(t, "accepted", nil).close()
	for _, v := range []struct {
		name   string
		req    wsframe.Request
		header string // a header the refusal must carry, with its value
	}{
		{name: "method POST", req: wsframe.Request{Method: http.MethodPost}},
		{name: "no Upgrade token", req: wsframe.Request{Header: http.Header{"Upgrade": {""}}}},
		{name: "Upgrade: h2c", req: wsframe.Request{Header: http.Header{"Upgrade": {"h2c"}}}},
		{name: "no Connection token", req: wsframe.Request{Header: http.Header{"Connection": {"keep-alive"}}}},
		{name: "no Sec-WebSocket-Key", req: wsframe.Request{Header: http.Header{"Sec-Websocket-Key": {""}}}},
		{name: "a key of 15 bytes", req: wsframe.Request{Key: "AAECAwQFBgcICQoLDA0O"}},
		{name: "a key that is not base64", req: wsframe.Request{Key: "not a base64 key of 16!!"}},
		{name: "Sec-WebSocket-Version 8", req: wsframe.Request{Header: http.Header{"Sec-Websocket-Version": {"8"}}}, header: "13"},
		{name: "no Sec-WebSocket-Version", req: wsframe.Request{Header: http.Header{"Sec-Websocket-Version": {""}}}, header: "13"},
	} {
		v.req.Protocols = []string{wire.Subprotocol}
		_, _, resp, err := upgradeRaw(t, "refused", v.req)
		if err != nil {
			// A connection closed without an HTTP answer refuses too, but says nothing.
			t.Mismatch("WS-13", fmt.Sprintf("an HTTP 4xx refusal of an upgrade with %s", v.name), err.Error())
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 400 || resp.StatusCode > 499:
			t.Mismatch("WS-13", fmt.Sprintf("an HTTP 4xx refusal of an upgrade with %s", v.name), fmt.Sprintf("HTTP %d", resp.StatusCode))
		case v.header != "" && !strings.Contains(resp.Header.Get("Sec-WebSocket-Version"), v.header):
			t.Mismatch("WS-13", fmt.Sprintf("Sec-WebSocket-Version: 13 on the refusal of an upgrade with %s (RFC 6455 §4.4)", v.name),
				fmt.Sprintf("Sec-WebSocket-Version %q", resp.Header.Get("Sec-WebSocket-Version")))
		default:
			t.Logf("%s: HTTP %d", v.name, resp.StatusCode)
		}
	}
}
