package server_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

// liveness proves that the server keeps serving everyone: alice relays to bob and both answer.
func liveness(t *testing.T, alice, bob *client) {
	t.Helper()
	alice.t, bob.t = t, t
	sid := chat(alice, bob)
	id := alice.id()
	alice.send(msg{"type": "relay", "id": id, "to": "bob", "session": sid, "payload": msgPayload(0, 24)})
	alice.expectAck(id, "relay")
	bob.expect("relay")
	id = alice.id()
	alice.send(msg{"type": "chat_terminate", "id": id, "to": "bob", "session": sid})
	alice.expectAck(id, "chat_terminate")
	bob.expect("chat_terminate")
}

// TestMalformedKeepsConnection checks MSG-1 to MSG-4, ENC-6, ENC-8 and SRV-2 at the server:
// every malformed message from a registered client is answered bad_message, the connection
// stays open (ERR-3), the error names a pointer and keyword but not the data (ERR-4), and a
// second pair of clients keeps working.
func TestMalformedKeepsConnection(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	mal := connect(t, srv, "mal")
	sid := session()
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	tests := []struct {
		name, text string
	}{
		{"MSG-3 not JSON", `{"type":`},
		{"MSG-3 empty", ``},
		{"MSG-3 array", `[{"type":"list_users"}]`},
		{"MSG-3 scalar", `"list_users"`},
		{"MSG-3 trailing data", `{"type":"list_users"}{"type":"list_users"}`},
		{"MSG-2 duplicate member", `{"type":"list_users","type":"list_users"}`},
		{"MSG-2 duplicate nested member", `{"type":"relay","to":"bob","session":"` + sid + `","payload":{"kind":"msg","n":0,"n":1,"ct":"` + ciphertext(20) + `"}}`},
		{"MSG-1 unknown type", `{"type":"subscribe"}`},
		{"MSG-1 no type", `{"id":"x"}`},
		{"MSG-1 unknown member", `{"type":"list_users","secret":"s3cr3t-value"}`},
		{"MSG-1 wrong type of member", `{"type":"relay","to":5,"session":"` + sid + `","payload":{"kind":"msg","n":0,"ct":"` + ciphertext(20) + `"}}`},
		{"MSG-1 missing member", `{"type":"get_pubkey"}`},
		{"MSG-1 bad username", `{"type":"get_pubkey","user":"Alice"}`},
		{"MSG-1 unknown payload kind", `{"type":"relay","to":"bob","session":"` + sid + `","payload":{"kind":"sms","n":0}}`},
		{"MSG-4 nested too deep", `{"type":"list_users","x":` + deep + `}`},
		{"ENC-6 non-canonical base64", `{"type":"chat_request","to":"bob","session":"AAAAAAAAAAAAAAAAAAAAAB=="}`},
		{"ENC-6 wrong length", `{"type":"chat_request","to":"bob","session":"` + ciphertext(15) + `"}`},
		{"ENC-8 fractional integer", `{"type":"relay","to":"bob","session":"` + sid + `","payload":{"kind":"msg","n":0.5,"ct":"` + ciphertext(20) + `"}}`},
		{"ENC-8 negative counter", `{"type":"relay","to":"bob","session":"` + sid + `","payload":{"kind":"msg","n":-1,"ct":"` + ciphertext(20) + `"}}`},
		{"ENC-10 lone surrogate escape", `{"type":"get_pubkey","user":"al\ud800ice"}`},
		{"ENC-10 lone surrogate in the id", `{"type":"list_users","id":"\udc00"}`},
		{"SRV-2 from in a request", `{"type":"chat_request","to":"bob","from":"alice","session":"` + sid + `"}`},
	}
	t.Run("MSG-5 the id and type of a rejected request are echoed", func(t *testing.T) {
		mal.t = t
		mal.sendRaw(`{"type":"relay","id":"r-7","to":5,"session":"` + sid + `","payload":{"kind":"close","n":0,"ct":"` + ciphertext(16) + `"}}`)
		if e := mal.expectError("bad_message", "r-7"); e["for"] != "relay" {
			t.Errorf("error.for = %v, want relay", e["for"])
		}
		liveness(t, alice, bob)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mal.t = t
			mal.sendRaw(tt.text)
			e := mal.expectError("bad_message", "")
			if text := e["message"].(string); strings.Contains(text, "s3cr3t") || len([]rune(text)) > 256 {
				t.Errorf("bad_message text %q", text)
			}
			mal.sync() // ERR-3: still open
			liveness(t, alice, bob)
		})
	}
}

// TestFramingCloses checks the close codes of WS-10: WS-3 (binary: 1003), WS-4 (invalid UTF-8: 1007) and WS-5 (over
// max_message: 1009, exactly max_message accepted), each after the explaining error where the
// server read the message (ERR-2), while a second pair of clients keeps working.
func TestFramingCloses(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	max := server.DefaultConfig().MaxMessage
	exact := `{"type":"list_users","id":"pad"}`
	exact += strings.Repeat(" ", max-len(exact))
	tests := []struct {
		name      string
		frameType int
		data      string
		errCode   string // "" when no error precedes the close
		close     int
	}{
		{"WS-3 binary", websocket.BinaryMessage, `{"type":"list_users"}`, "bad_message", websocket.CloseUnsupportedData},
		{"WS-4 ENC-9 invalid UTF-8", websocket.TextMessage, "{\"type\":\"get_pubkey\",\"user\":\"\xff\xfe\"}", "bad_message", websocket.CloseInvalidFramePayloadData},
		{"WS-5 oversize", websocket.TextMessage, exact + " ", "", websocket.CloseMessageTooBig},
		{"WS-5 far oversize", websocket.TextMessage, exact + strings.Repeat(" ", 4*max), "", websocket.CloseMessageTooBig},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connect(t, srv, fmt.Sprintf("mal%d", i))
			// The write of a far oversize message may fail half way: the server closes first.
			if err := c.ws.WriteMessage(tt.frameType, []byte(tt.data)); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
				t.Fatal(err)
			}
			if tt.errCode != "" {
				c.expectErrorThenClose(tt.errCode, tt.close)
			} else {
				c.expectClose(tt.close)
			}
			liveness(t, alice, bob)
		})
	}
	t.Run("WS-5 exactly max_message", func(t *testing.T) {
		c := connect(t, srv, "exact")
		c.sendRaw(exact)
		if m := c.expect("user_list"); m["id"] != "pad" {
			t.Fatalf("got %s", compact(m))
		}
	})
}

// TestFlood checks LIM-3 (over the rate: rate_limited, not forwarded; within the burst a client
// keeping to the announced limits, LIM-6, is never limited) and LIM-4 (persistent abuse: 4003
// after the last rate_limited error, ERR-2), with the default rate, burst and abuse window,
// while a second pair of clients keeps working (LIM-1).
func TestFlood(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := connect(t, srv, "alice"), connect(t, srv, "bob")
	flooder := connect(t, srv, "flood")
	sid := chat(flooder, bob)
	cfg := server.DefaultConfig()
	total := cfg.Burst + 3*cfg.AbuseLimit
	go func() {
		for i := range total {
			data := fmt.Sprintf(`{"type":"relay","id":"%d","to":"bob","session":"%s","payload":{"kind":"msg","n":%d,"ct":"%s"}}`, i, sid, i, ciphertext(16))
			if flooder.ws.WriteMessage(websocket.TextMessage, []byte(data)) != nil {
				return // closed by the server: expected
			}
		}
	}()
	acks, limited := 0, 0
	for {
		f := flooder.next()
		if f.err != nil {
			var ce *websocket.CloseError
			if !errors.As(f.err, &ce) || ce.Code != server.CloseRateLimited {
				t.Fatalf("flood ended with %v, want close 4003", f.err)
			}
			break
		}
		switch m := decode(t, f.data); {
		case m["type"] == "ack":
			acks++
		case m["type"] == "error" && m["code"] == "rate_limited" && m["for"] == "relay":
			limited++
		default:
			t.Fatalf("flood got %s", compact(m))
		}
	}
	// hello, register and chat_request took three tokens of the burst.
	if limited != cfg.AbuseLimit || acks < cfg.Burst-3 || acks+limited > total {
		t.Fatalf("%d acks and %d rate_limited; want at least %d and exactly %d", acks, limited, cfg.Burst-3, cfg.AbuseLimit)
	}
	// LIM-3: only the acked messages were forwarded.
	for range acks {
		bob.expect("relay")
	}
	// SES-3: the flooder's connection is gone, and with it the chat bob had accepted.
	if m := bob.expect("chat_terminate"); m["from"] != "flood" || m["session"] != sid || m["reason"] != "peer_offline" {
		t.Fatalf("bob got %s, want the chat_terminate of the relay for the flooder's chat", compact(m))
	}
	bob.quiet()
	liveness(t, alice, bob)
}
