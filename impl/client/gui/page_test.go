package gui

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// startPage serves a page whose WebSocket sessions run serve (nil: close at once) until the
// test ends.
func startPage(t *testing.T, opts ListenOptions, serve func(context.Context, *websocket.Conn)) *Page {
	t.Helper()
	if serve == nil {
		serve = func(context.Context, *websocket.Conn) {}
	}
	p, err := Listen(opts, serve)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return p
}

// noRedirect is an HTTP client that shows redirects instead of following them.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login exchanges the page's token and returns a client that carries the session cookie.
func login(t *testing.T, p *Page) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	resp, err := c.Get(p.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("token exchange: %s", resp.Status)
	}
	return c
}

func get(t *testing.T, c *http.Client, url string, header http.Header, host string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// checkHeaders asserts the headers of spec Appendix D [GUI-6].
func checkHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-") {
		t.Errorf("%s: Content-Security-Policy %q [GUI-6]", what, csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: X-Frame-Options %q, Referrer-Policy %q [GUI-6]", what, h.Get("X-Frame-Options"), h.Get("Referrer-Policy"))
	}
}

// TestTokenExchangedOnce: the token is 128 random bits, opens one session with an HttpOnly
// SameSite=Strict cookie, and never a second one. Rules: GUI-2, GUI-6.
func TestTokenExchangedOnce(t *testing.T) {
	p := startPage(t, ListenOptions{}, nil)
	token := strings.TrimPrefix(p.URL()[strings.Index(p.URL(), "?"):], "?"+TokenParam+"=")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(token) {
		t.Fatalf("token %q is not 128 bits in hex [GUI-2]", token)
	}
	anon := noRedirect(nil)
	if resp := get(t, anon, "http://"+p.Addr()+"/?token=00112233445566778899aabbccddeeff", nil, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a wrong token: %s, want 403 [GUI-2]", resp.Status)
	}
	url := p.URL()
	resp := get(t, anon, url, nil, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("first use: %s to %q, want 303 to / [GUI-2]", resp.Status, resp.Header.Get("Location"))
	}
	checkHeaders(t, "token exchange", resp.Header)
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != p.cookie || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookie %+v, want one HttpOnly SameSite=Strict %s [GUI-2]", cookies, p.cookie)
	}
	if cookies[0].Value == token {
		t.Fatal("the cookie is the token itself [GUI-2]")
	}
	again := get(t, anon, url, nil, "")
	if again.StatusCode != http.StatusForbidden || len(again.Cookies()) != 0 {
		t.Fatalf("second use: %s with %d cookies, want 403 and none [GUI-2]", again.Status, len(again.Cookies()))
	}
	checkHeaders(t, "second use", again.Header)
	if strings.Contains(p.URL(), token) {
		t.Fatal("the used token is still handed out [GUI-2]")
	}
}

// TestRefusals: without the cookie, with another Host, or with a foreign Origin, requests and
// the WebSocket are refused with 403; every response carries the security headers. Rules:
// GUI-3, GUI-4, GUI-5, GUI-6.
func TestRefusals(t *testing.T) {
	upgraded := make(chan struct{}, 4)
	p := startPage(t, ListenOptions{}, func(context.Context, *websocket.Conn) { upgraded <- struct{}{} })
	in := login(t, p)
	anon := noRedirect(nil)
	base := "http://" + p.Addr()
	port := p.Addr()[strings.LastIndex(p.Addr(), ":"):]
	ws := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}
	withOrigin := func(h http.Header, origin string) http.Header {
		c := h.Clone()
		if origin != "" {
			c.Set("Origin", origin)
		}
		return c
	}
	tests := []struct {
		name   string
		client *http.Client
		path   string
		header http.Header
		host   string
		want   int
		rule   string
	}{
		{"page without cookie", anon, "/", nil, "", 403, "GUI-3"},
		{"script without cookie", anon, "/app.js", nil, "", 403, "GUI-3"},
		{"websocket without cookie", anon, WSPath, withOrigin(ws, p.Origin()), "", 403, "GUI-3"},
		{"a forged cookie", clientWithCookie(t, base, "0123456789abcdef0123456789abcdef"), "/", nil, "", 403, "GUI-3"},
		{"page with cookie", in, "/", nil, "", 200, "GUI-3"},
		{"script with cookie", in, "/app.js", nil, "", 200, "GUI-3"},
		{"missing asset", in, "/nothing.js", nil, "", 404, "GUI-6"},
		{"a rebound name", in, "/", nil, "attacker.example" + port, 403, "GUI-4"},
		{"localhost", in, "/", nil, "localhost" + port, 403, "GUI-4"},
		{"another port", in, "/", nil, "127.0.0.1:1", 403, "GUI-4"},
		{"token under a rebound name", anon, "/?token=x", nil, "attacker.example" + port, 403, "GUI-4"},
		{"websocket from a foreign origin", in, WSPath, withOrigin(ws, "http://attacker.example"), "", 403, "GUI-5"},
		{"websocket from a null origin", in, WSPath, withOrigin(ws, "null"), "", 403, "GUI-5"},
		{"websocket without origin", in, WSPath, ws, "", 403, "GUI-5"},
		{"websocket from https origin", in, WSPath, withOrigin(ws, "https://"+p.Addr()), "", 403, "GUI-5"},
		{"websocket from its own page", in, WSPath, withOrigin(ws, p.Origin()), "", 101, "GUI-5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, tt.client, base+tt.path, tt.header, tt.host)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s: status %d, want %d [%s]", tt.name, resp.StatusCode, tt.want, tt.rule)
			}
			if resp.StatusCode != http.StatusSwitchingProtocols {
				checkHeaders(t, tt.name, resp.Header)
			}
		})
	}
}

func clientWithCookie(t *testing.T, base, value string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	req, _ := http.NewRequest(http.MethodGet, base, nil)
	jar.SetCookies(req.URL, []*http.Cookie{{Name: CookieName + base[strings.LastIndex(base, ":")+1:], Value: value}})
	return noRedirect(jar)
}

// TestTwoPagesOneBrowser: browsers share cookies between the ports of a host, so two pages
// (two users) logged in from one browser keep their own sessions. Rules: GUI-2, GUI-3.
func TestTwoPagesOneBrowser(t *testing.T) {
	a := startPage(t, ListenOptions{}, nil)
	b := startPage(t, ListenOptions{}, nil)
	jar, _ := cookiejar.New(nil)
	c := noRedirect(jar)
	for _, p := range []*Page{a, b} {
		if resp := get(t, c, p.URL(), nil, ""); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %s", resp.Status)
		}
	}
	for _, p := range []*Page{a, b} {
		if resp := get(t, c, "http://"+p.Addr()+"/", nil, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("page %s after both logins: %s [GUI-2]", p.Addr(), resp.Status)
		}
	}
}

// TestListenLoopbackOnly: a non-loopback address is refused unless named explicitly, and then
// warned about. Rules: GUI-1.
func TestListenLoopbackOnly(t *testing.T) {
	if _, err := Listen(ListenOptions{Addr: "0.0.0.0:0"}, nil); err == nil {
		t.Fatal("0.0.0.0 accepted without being named [GUI-1]")
	}
	if _, err := Listen(ListenOptions{Addr: "localhost:0"}, nil); err == nil {
		t.Fatal("a host name accepted: it is not an address [GUI-1]")
	}
	var log bytes.Buffer
	p := startPage(t, ListenOptions{Addr: "0.0.0.0:0", Explicit: true, Logger: slog.New(slog.NewTextHandler(&log, nil))}, nil)
	if !strings.Contains(log.String(), "non-loopback") {
		t.Fatalf("no warning for an explicit non-loopback bind [GUI-1]: %q", log.String())
	}
	// Bound to every address, the page still refuses host names (GUI-4).
	port := p.Addr()[strings.LastIndex(p.Addr(), ":"):]
	in := login(t, p)
	if resp := get(t, in, "http://127.0.0.1"+port+"/", nil, "attacker.example"+port); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a host name on a wildcard bind: %s [GUI-4]", resp.Status)
	}
	def := startPage(t, ListenOptions{}, nil)
	if !strings.HasPrefix(def.Addr(), "127.0.0.1:") {
		t.Fatalf("default bind %s [GUI-1]", def.Addr())
	}
}

// TestAssetsSelfContained reads the embedded page: no markup parser is ever fed text (no
// innerHTML and kin, no eval), no inline script or style, and nothing from another origin.
// Rules: GUI-7, GUI-8, GUI-6.
func TestAssetsSelfContained(t *testing.T) {
	banned := []struct {
		re   *regexp.Regexp
		rule string
	}{
		{regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|srcdoc`), "GUI-7"},
		{regexp.MustCompile(`\beval\(|new Function|setTimeout\(\s*['"]`), "GUI-6"},
		{regexp.MustCompile(`https?://|//cdn|@import|url\(`), "GUI-8"},
		{regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`), "GUI-6"},
	}
	n := 0
	err := fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		data, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		for _, b := range banned {
			for _, line := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "//") || strings.HasPrefix(strings.TrimSpace(line), "/*") {
					continue // comments may name what the code avoids
				}
				if m := b.re.FindString(line); m != "" {
					t.Errorf("%s: %q [%s]: %s", path, m, b.rule, strings.TrimSpace(line))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d assets embedded", n)
	}
}

// TestQRSVG: the QR code is an SVG image of black modules on white with a quiet zone.
func TestQRSVG(t *testing.T) {
	svg, err := qrSVG(strings.Repeat("0123456789", 6))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>") || !strings.Contains(svg, `fill="#000"`) {
		t.Fatalf("not an SVG QR code: %.80s", svg)
	}
	if strings.Count(svg, "<") != 4 { // svg, rect, path, /svg
		t.Fatalf("unexpected elements in %s", svg)
	}
}
