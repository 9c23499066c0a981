package gui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/server"
	"github.com/blindpost/blindpost/impl/server/directory"
	"github.com/blindpost/blindpost/impl/server/servertest"
)

const passphrase = "orbit lantern quietly seven"

// hostile is peer text that would run script if the page inserted it as HTML.
const hostile = `<img src=x onerror=alert(1)></script><script>alert(2)</script>`

// TestBrowserEndToEnd runs a relay, three graphical clients and a headless Chromium with one
// browser context per user, and uses the pages as people do: first run, Broadcast with three
// members, a 1:1 chat requested and accepted (typing never answers), messages both ways with
// hostile text, safety numbers compared and marked verified, a peer leaving, and a key change
// that raises the blocking dialog. Rules: GUI-2, GUI-3, GUI-6, GUI-7, TLS-4, DRV-3, DRV-30,
// DRV-31, CLI-1, CLI-2, CLI-3, TRUST-2, TRUST-4.
func TestBrowserEndToEnd(t *testing.T) {
	browser := startBrowser(t)
	srv := servertest.Start(t)
	pin := srv.CertificatePin().String()
	roots := map[string]string{}
	pages := map[string]*Page{}
	tabs := map[string]*tab{}
	for _, user := range []string{"alice", "bob", "carol"} {
		roots[user] = t.TempDir()
		pages[user] = startGUI(t, testOptions(roots[user], ""))
		tabs[user] = newTab(t, browser, user)
	}
	alice, bob, carol := tabs["alice"], tabs["bob"], tabs["carol"]

	// A browser without the token gets nothing; the page carries its policy (GUI-3, GUI-6).
	stranger := newTab(t, browser, "stranger")
	ctx, cancel := context.WithTimeout(stranger.ctx, browserWait)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse("http://"+pages["alice"].Addr()+"/"))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 403 || !strings.Contains(fmt.Sprint(resp.Headers["Content-Security-Policy"]), "default-src 'self'") {
		t.Fatalf("page without the token: %d, CSP %v [GUI-3] [GUI-6]", resp.Status, resp.Headers["Content-Security-Policy"])
	}

	// First run: create the identity, see the relay's pin, trust it (TLS-4, DRV-30).
	alice.onboard(pages["alice"], "alice", passphrase, srv.URL, pin, true)
	bob.onboard(pages["bob"], "bob", passphrase, srv.URL, pin, false)
	carol.onboardByKeyboard(pages["carol"], "carol", passphrase, strings.TrimPrefix(srv.URL, "wss://"), pin)
	for user, b := range tabs {
		if got := b.text("#me"); !strings.HasPrefix(got, user+" · sha256:") {
			b.t.Fatalf("%s: identity in the status bar %q [CLI-1]", user, got)
		}
		if _, err := os.Stat(filepath.Join(roots[user], user, "known_servers")); err != nil {
			t.Fatalf("%s: the trusted pin is not kept: %v [DRV-30]", user, err)
		}
	}

	// Broadcast: first in the list, three members, messages to all.
	for _, b := range tabs {
		b.until("Broadcast first", `document.querySelector('#people li button').dataset.conv === 'g:broadcast'`)
		b.until("three members in Broadcast", `document.getElementById('secured').textContent.includes('3 members')`)
		// spec §9 [CLI-31]: secured with everyone only once every member confirmed the epoch.
		b.until("Broadcast secured with everyone", `document.getElementById('secured').dataset.state === 'joined'`)
	}
	alice.send("hello everyone")
	bob.seesMessage("alice", "hello everyone")
	carol.seesMessage("alice", "hello everyone")
	carol.send("hi alice, carol here")
	alice.seesMessage("carol", "hi alice, carol here")
	alice.until("the message relayed", `[...document.querySelectorAll('#messages li.msg.mine .state')].every(s => s.dataset.state === 'relayed')`)
	alice.shot("broadcast")

	// alice asks bob for a chat; bob types before answering, which answers nothing (DRV-3).
	alice.until("bob online", `!!document.querySelector('[data-conv="p:bob"] .dot.on')`)
	alice.conv("p:bob")
	alice.until("not secured before the chat", `document.getElementById('secured').dataset.state === 'none'`)
	alice.click("#btn-chat")
	bob.until("a chat request", `!!document.querySelector('#requests li[data-session]')`)
	bob.until("an unread mark on alice", `document.querySelector('[data-conv="p:alice"] .unread') !== null`)
	bob.conv("p:alice")
	bob.typeInto("#text", "yes")
	bob.enter()
	if bob.js(`document.querySelectorAll('#requests li[data-session]').length`) != float64(1) ||
		alice.js(`document.getElementById('secured').dataset.state`) != "requested" {
		t.Fatal("typing answered the chat request [DRV-3]")
	}
	bob.js(`document.getElementById('text').value = '', true`)
	bob.click("#incoming #btn-accept")
	for name, b := range map[string]*tab{"alice": alice, "bob": bob} {
		b.until(name+" secured", `document.getElementById('secured').dataset.state === 'secured'`)
		b.until(name+" secured line names the peer", `/End-to-end secured with (alice|bob) \(sha256:/.test(document.getElementById('secured').textContent)`)
	}

	// Messages both ways; hostile text is shown as text and runs nothing (GUI-7).
	alice.send("hello bob")
	bob.seesMessage("alice", "hello bob")
	bob.send(hostile)
	alice.seesMessage("bob", hostile)
	bob.typeInto("#text", "two")
	bob.js(`document.getElementById('text').value += '\nlines', true`)
	bob.enter()
	alice.seesMessage("bob", "two\nlines")
	if n := alice.js(`document.querySelectorAll('#messages img, #messages script').length`); n != float64(0) {
		t.Fatalf("peer text became %v elements [GUI-7]", n)
	}
	alice.noAlert()
	alice.js(`document.getElementById('text').value = 'x'.repeat(4096), true`)
	alice.typeInto("#text", "y")
	alice.until("the counter over the limit", `document.getElementById('counter').textContent.startsWith('4097 / 4096') && document.getElementById('send').disabled`)
	alice.js(`document.getElementById('text').value = '', document.getElementById('text').dispatchEvent(new Event('input')), true`)
	alice.shot("conversation")
	if *writeScreenshots { // the dark theme follows the system
		alice.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		}))
		alice.shot("conversation-dark")
		alice.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}})
			return err
		}))
	}

	// Safety numbers: equal on both sides; the mark persists (TRUST-4, DRV-31).
	alice.click("#btn-safety")
	bob.click("#btn-safety")
	digits := map[string]string{}
	for name, b := range map[string]*tab{"alice": alice, "bob": bob} {
		b.until(name+" safety number", `/^(\d{5} ){11}\d{5}$/.test(document.getElementById('safety-digits').textContent)`)
		b.until(name+" QR code", `document.getElementById('safety-qr').naturalWidth > 0`)
		digits[name] = b.text("#safety-digits")
	}
	if digits["alice"] != digits["bob"] {
		t.Fatalf("safety numbers differ: %s / %s [TRUST-4]", digits["alice"], digits["bob"])
	}
	alice.click("#safety-mark")
	alice.until("verified", `document.getElementById('safety-state').textContent.startsWith('Verified')`)
	alice.shot("safety-number")
	alice.do(chromedp.KeyEvent(kb.Escape))
	alice.until("Esc closes the dialog", `!document.getElementById('safety').open`)
	bob.do(chromedp.KeyEvent(kb.Escape))
	alice.until("the status line says verified", `document.getElementById('secured').textContent.includes('safety number verified')`)
	data, err := os.ReadFile(filepath.Join(roots["alice"], "alice", "verified_peers"))
	if err != nil || !strings.HasPrefix(string(data), "bob sha256:") {
		t.Fatalf("verified_peers %q, %v: the mark is not kept [DRV-31]", data, err)
	}

	// A reload locks the page: the unlock screen names a wrong passphrase, and after unlocking
	// a new chat with bob still carries the verified mark (DRV-31, CLI-1).
	alice.do(chromedp.Reload())
	alice.until("the unlock screen", `!document.getElementById('unlock').hidden && document.activeElement.id === 'unlock-pass'`)
	if got := alice.text("#unlock-user"); got != "alice" {
		t.Fatalf("unlock screen for %q", got)
	}
	alice.do(chromedp.KeyEvent("not my passphrase"))
	alice.enter()
	alice.until("a wrong passphrase named", `document.getElementById('unlock-error').textContent.includes('does not open')`)
	alice.do(chromedp.KeyEvent(passphrase))
	alice.enter()
	alice.until("the chat screen again", `!document.getElementById('app').hidden`)
	bob.until("bob sees the session end", `document.getElementById('secured').dataset.state !== 'secured'`)
	alice.until("bob online", `!!document.querySelector('[data-conv="p:bob"] .dot.on')`)
	alice.conv("p:bob")
	alice.click("#btn-chat")
	bob.click("#requests li[data-session] .accept")
	alice.until("secured again, and verified", `document.getElementById('secured').dataset.state === 'secured' && document.getElementById('secured').textContent.includes('safety number verified')`)

	// Usable at 360 px: nothing overflows sideways.
	alice.do(chromedp.EmulateViewport(360, 740))
	alice.until("no horizontal scrolling at 360 px", `document.documentElement.scrollWidth <= 360`)
	alice.shot("narrow")
	alice.do(chromedp.EmulateViewport(1000, 700))

	// bob quits: alice's conversation is no longer secured (CLI-1).
	bobFP := strings.TrimSpace(bob.js(`document.getElementById('me').title.replace('Your identity: ', '')`).(string))
	bob.cancel()
	alice.until("not secured after bob left", `document.getElementById('secured').dataset.state !== 'secured' && document.getElementById('send').disabled`)

	// The relay rebinds bob to a new key: the next chat raises the blocking dialog with the
	// old and the new fingerprint, and nothing goes to bob until alice trusts it (TRUST-2).
	addr := srv.Addr().String()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	alice.until("the reconnect banner with its countdown [CLI-3]", `/Reconnecting (in \d+ s|now) \(attempt \d+\)/.test(document.getElementById('banner').textContent) && !document.getElementById('banner').hidden`)
	d, err := directory.Open(filepath.Join(srv.DataDir, directory.FileName), directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("bob"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	srv = srv.Restart(t, func(c *server.Config) { c.Listen = addr })
	alice.until("reconnected, the banner gone", `document.getElementById('conn').textContent === 'connected' && document.getElementById('banner').hidden`)
	newBob := connectPlain(t, srv, "bob")
	alice.conv("p:bob")
	alice.until("bob online again", `!!document.querySelector('[data-conv="p:bob"] .dot.on')`)
	alice.click("#btn-chat")
	alice.until("the key-change dialog", `document.getElementById('keychange').open && document.getElementById('keychange-new').textContent.startsWith('sha256:')`)
	if old, nw := alice.text("#keychange-old"), alice.text("#keychange-new"); old != bobFP || nw != newBob.Fingerprint() {
		t.Fatalf("key-change dialog: old %q new %q, want %q and %q [TRUST-2]", old, nw, bobFP, newBob.Fingerprint())
	}
	if alice.js(`document.getElementById('secured').dataset.state`) != "key_changed" || alice.js(`document.getElementById('send').disabled`) != true {
		t.Fatal("sending to bob is possible before the new key is trusted [TRUST-2]")
	}
	alice.shot("key-change")
	alice.click("#keychange-trust")
	alice.until("the dialog closes after trust", `!document.getElementById('keychange').open && document.getElementById('secured').dataset.state !== 'key_changed'`)

	// The security event is told in words, its outcome code and rule id in the details (CLI-2).
	alice.until("the key change in words", `[...document.querySelectorAll('#messages li.notice.security')].some(li => li.textContent.includes('identity key changed'))`)
	alice.click("#messages li.notice.security button")
	alice.until("the details name the rule", `document.getElementById('details').open && document.getElementById('details-list').textContent.includes('key_changed') && document.getElementById('details-list').textContent.includes('TRUST-2')`)
	alice.do(chromedp.KeyEvent(kb.Escape))
	alice.until("Esc closes the details", `!document.getElementById('details').open`)

	// bob's new key joins Broadcast and commits its next epoch. alice, who trusted the new key,
	// accepts it; carol, who did not, rejects it (key_changed) and never confirms the epoch, so
	// alice's Broadcast is secured with bob only and says it waits for carol (CLI-31).
	joinCtx, cancelJoin := context.WithTimeout(context.Background(), browserWait)
	defer cancelJoin()
	if err := newBob.JoinGroup(joinCtx, client.Broadcast); err != nil {
		t.Fatal(err)
	}
	alice.conv("g:broadcast")
	alice.until("Broadcast partly secured, waiting for carol", `document.getElementById('secured').dataset.state === 'partial' && /Secured with 1 of 2: waiting for carol/.test(document.getElementById('secured').textContent)`)
	alice.noAlert()
}

// connectPlain connects a user with a fresh identity through the client library.
func connectPlain(t *testing.T, srv *servertest.Server, user string) *client.Client {
	t.Helper()
	key, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	pin := srv.CertificatePin()
	ctx, cancel := context.WithTimeout(context.Background(), browserWait)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: srv.URL, User: user, Identity: key, TLS: tlstrust.Policy{Pin: &pin}, NoReconnect: true, PollUsers: -1})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range c.Events() {
		}
	}()
	t.Cleanup(func() { c.Close() })
	return c
}
