package gui

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/blindpost/blindpost/impl/server/servertest"
)

// cutProxy forwards TCP connections to a relay until cut, which drops them all at once, as a
// killed process or a pulled cable does: no close record, no close frame.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) url() string { return "wss://" + p.ln.Addr().String() + "/" }

// cut closes the listener and every forwarded connection.
func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestBrowserPeerKilled: bob's connection drops without a word; alice's conversation must not
// go on claiming "secured" for a message bob never gets: either it leaves the secured state,
// or her next message is marked not delivered and kept to resend. Rules: CLI-1.
func TestBrowserPeerKilled(t *testing.T) {
	browser := startBrowser(t)
	srv := servertest.Start(t)
	pin := srv.CertificatePin().String()
	alicePage := startGUI(t, testOptions(t.TempDir(), ""))
	alice := newTab(t, browser, "alice")
	alice.onboard(alicePage, "alice", passphrase, srv.URL, pin, false)

	proxy := startCutProxy(t, srv.Addr().String())
	bob := openPage(t, startGUI(t, testOptions(t.TempDir(), "bob")), passphrase)
	st := bob.ok("create_identity", map[string]any{"user": "bob", "passphrase": passphrase, "server": proxy.url()})
	if st["state"] != "ready" {
		bob.ok("trust_server", map[string]any{"pin": st["pin"]})
	}

	alice.until("bob online", `!!document.querySelector('[data-conv="p:bob"] .dot.on')`)
	alice.conv("p:bob")
	alice.click("#btn-chat")
	req := bob.waitEvent(func(e map[string]any) bool { return e["event"] == "chat_request" })
	bob.ok("accept", map[string]any{"session": req["session"]})
	alice.until("secured", `document.getElementById('secured').dataset.state === 'secured'`)
	alice.send("before")
	bob.waitEvent(func(e map[string]any) bool { return e["event"] == "message" && e["text"] == "before" })

	proxy.cut()
	alice.until("bob offline", `!document.querySelector('[data-conv="p:bob"] .dot.on')`)
	if alice.js(`document.getElementById('secured').dataset.state`) == "secured" {
		alice.send("are you still there?")
	}
	alice.until("not secured, or the message not delivered", `document.getElementById('secured').dataset.state !== 'secured' ||
		[...document.querySelectorAll('#messages li.msg.mine')].some(li => li.querySelector('.text').textContent === 'are you still there?' &&
			li.querySelector('.state').dataset.state === 'failed' && !!li.querySelector('button'))`)
	if got := alice.text("#messages"); strings.Contains(got, "are you still there?") && !strings.Contains(got, "not delivered") {
		t.Fatalf("a message to a vanished peer is not marked: %q", got)
	}
}
