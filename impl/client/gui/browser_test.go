package gui

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// writeScreenshots makes the browser tests write screenshots/*.png (make screenshots).
var writeScreenshots = flag.Bool("screenshots", false, "write the screenshots of the graphical client to screenshots/")

// browserWait bounds every wait for the page.
const browserWait = 20 * time.Second

// chromiumPath finds Chromium. Outside CI a missing browser skips the browser tests, loudly;
// in CI (CI set) it fails them: .ci/run installs Debian's chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but no chromium is installed: .ci/run installs it with apt-get install -y chromium")
	}
	fmt.Fprintln(os.Stderr, "\n!!!!!!!! NO CHROMIUM: THE BROWSER TESTS OF impl/client/gui ARE SKIPPED. Install it: apt-get install -y chromium !!!!!!!!")
	t.Skip("no chromium on PATH (CI unset): browser tests skipped")
	return ""
}

// startBrowser starts one headless Chromium for the test; each user gets its own browser
// context (its own cookies) from tab.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1000, 680), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return browser
}

// tab is one user's page in its own browser context.
type tab struct {
	t      *testing.T
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	alerts chan string
}

func newTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	b := &tab{t: t, name: name, ctx: ctx, cancel: cancel, alerts: make(chan string, 8)}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 700)); err != nil {
		t.Fatalf("%s: new tab: %v", name, err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.alerts <- e.Message
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return b
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", b.name, err)
	}
}

// js evaluates an expression in the page and returns its value.
func (b *tab) js(expr string) any {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, expr, err)
	}
	return v
}

// until waits for a JavaScript condition to hold.
func (b *tab) until(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(browserWait))); err != nil {
		b.t.Fatalf("%s: waiting for %s (%s): %v\npage: %s", b.name, what, cond, err, b.dump())
	}
}

// dump returns what the page shows, for a failure message.
func (b *tab) dump() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText + '\\nmessages: ' + JSON.stringify([...document.querySelectorAll('#messages li')].map(li => [li.className, li.textContent]))`))
	if err != nil {
		return err.Error()
	}
	return v
}

// click clicks the first element of a CSS selector, as a mouse does.
func (b *tab) click(sel string) {
	b.t.Helper()
	b.until(sel+" to be visible", fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !!e.offsetParent && !e.disabled; })()`, sel))
	b.js(fmt.Sprintf(`document.querySelector(%q).click(), true`, sel))
}

// typeInto focuses a field and types text, key by key.
func (b *tab) typeInto(sel, text string) {
	b.t.Helper()
	b.js(fmt.Sprintf(`document.querySelector(%q).focus(), true`, sel))
	b.do(chromedp.KeyEvent(text))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	v, _ := b.js(fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)).(string)
	return v
}

// shot writes screenshots/NAME.png under make screenshots.
func (b *tab) shot(name string) {
	b.t.Helper()
	if !*writeScreenshots {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.MkdirAll("screenshots", 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("screenshots", name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// noAlert fails the test when the page opened a JavaScript dialog.
func (b *tab) noAlert() {
	b.t.Helper()
	select {
	case m := <-b.alerts:
		b.t.Fatalf("%s: the page ran script from a peer: alert(%q) [GUI-7]", b.name, m)
	default:
	}
}

// onboard walks the first run of a new user: create the identity, see the relay's pin, trust
// it. It returns after the chat screen shows.
func (b *tab) onboard(p *Page, user, pass, relay, pin string, screenshot bool) {
	b.t.Helper()
	b.do(chromedp.Navigate(p.URL()))
	b.until("the create screen", `!document.getElementById('create').hidden`)
	b.typeInto("#create-user", user)
	b.typeInto("#create-pass", pass)
	b.typeInto("#create-pass2", pass)
	b.typeInto("#create-server", relay)
	if got := b.text("#strength"); !strings.Contains(got, "Strong") {
		b.t.Errorf("%s: strength hint %q for a four-word passphrase", b.name, got)
	}
	if screenshot {
		b.shot("onboarding")
	}
	b.click("#create-form button[type=submit]")
	b.until("the trust screen", `!document.getElementById('trust').hidden`)
	if got := b.text("#trust-pin"); got != pin {
		b.t.Fatalf("%s: the page shows pin %q, the relay's is %q [TLS-4]", b.name, got, pin)
	}
	b.click("#trust-yes")
	b.until("the chat screen", `!document.getElementById('app').hidden`)
}

// onboardByKeyboard walks the first run with the keyboard alone: Tab from field to field,
// Enter to submit and to trust.
func (b *tab) onboardByKeyboard(p *Page, user, pass, relay, pin string) {
	b.t.Helper()
	b.do(chromedp.Navigate(p.URL()))
	b.until("the create screen with the username focused", `!document.getElementById('create').hidden && document.activeElement.id === 'create-user'`)
	for _, step := range []struct{ text, next string }{{user, "create-pass"}, {pass, "create-pass2"}, {pass, "create-server"}} {
		b.do(chromedp.KeyEvent(step.text), chromedp.KeyEvent(kb.Tab))
		b.until("Tab to "+step.next, fmt.Sprintf(`document.activeElement.id === %q`, step.next))
	}
	b.do(chromedp.KeyEvent(relay))
	b.enter()
	b.until("the trust screen with its button focused", `!document.getElementById('trust').hidden && document.activeElement.id === 'trust-yes'`)
	if got := b.text("#trust-pin"); got != pin {
		b.t.Fatalf("%s: the page shows pin %q, the relay's is %q [TLS-4]", b.name, got, pin)
	}
	b.enter()
	b.until("the chat screen", `!document.getElementById('app').hidden`)
}

// conv selects a conversation in the sidebar.
func (b *tab) conv(key string) { b.click(fmt.Sprintf(`[data-conv=%q]`, key)) }

// send types a message and sends it with Enter, as a keyboard user does.
func (b *tab) send(text string) {
	b.t.Helper()
	b.typeInto("#text", text)
	b.enter()
}

// enter presses Enter as a keyboard does: one keyDown that carries its text, so that a page
// that handles the key (preventDefault) gets no newline. (chromedp.KeyEvent sends the text in
// a separate char event, which inserts it whatever the page did.)
func (b *tab) enter() {
	b.t.Helper()
	press := func(typ input.DispatchKeyEventType, text string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: typ, Key: "Enter", Code: "Enter", Text: text, UnmodifiedText: text, WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			})
			return err
		})
	}
	b.do(press(input.DispatchKeyEventTypeKeyDown, "\r"), press(input.DispatchKeyEventTypeKeyUp, ""))
}

// seesMessage waits for a received message with exactly this text in the open conversation.
func (b *tab) seesMessage(from, text string) {
	b.t.Helper()
	js, _ := json.Marshal(text)
	b.until(from+": "+text, fmt.Sprintf(`[...document.querySelectorAll('#messages li.msg.theirs')].some(li =>
		li.querySelector('.from').textContent === %q && li.querySelector('.text').textContent === %s)`, from, js))
}
