package gui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

//go:embed assets
var assets embed.FS

// Names and paths of the local page.
const (
	// CookieName begins the name of the session cookie the token is exchanged for (spec
	// Appendix D [GUI-2]); the listener's port ends it, because browsers share cookies between
	// the ports of one host, and two pages (two users) must not overwrite each other's.
	CookieName = "blindpost_session_"
	// TokenParam is the query parameter of the opened address that carries the token.
	TokenParam = "token"
	// WSPath is the WebSocket that carries the driver protocol.
	WSPath = "/ws"
	// DefaultListen binds a free loopback port (spec Appendix D [GUI-1]).
	DefaultListen = "127.0.0.1:0"
)

// securityHeaders are set on every response, refusals included (spec Appendix D [GUI-6]).
// img-src admits data: for the QR code, an SVG image that the page shows in an <img>, where it
// cannot run script.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "no-referrer",
	"X-Content-Type-Options": "nosniff",
	"Cache-Control":          "no-store",
}

// ErrNotLoopback is returned for a listen address that is not loopback and was not named
// explicitly (spec Appendix D [GUI-1]).
var ErrNotLoopback = errors.New("gui: the listen address is not a loopback address")

// Listener options of the local page.
type ListenOptions struct {
	// Addr is the address to bind; empty means DefaultListen.
	Addr string
	// Explicit says the user named Addr: only then may it be other than loopback, with a
	// warning on Logger.
	Explicit bool
	// Logger receives the warning and diagnostics; nil discards them.
	Logger *slog.Logger
}

// Page is the HTTP side of the graphical client: the listener, the one-time token, the session
// cookie, the checks of every request, the assets and the WebSocket.
type Page struct {
	ln      net.Listener
	host    string // the Host every request must carry, "127.0.0.1:PORT" (GUI-4)
	anyIP   bool   // bound to an unspecified address: any IP literal with the port is the host
	port    string
	cookie  string // the session cookie's name
	log     *slog.Logger
	files   http.Handler
	upgrade websocket.Upgrader
	serve   func(ctx context.Context, ws *websocket.Conn)

	swap      sync.Mutex // held while one session replaces another
	mu        sync.Mutex
	token     string // empty once exchanged (GUI-2)
	session   string // the cookie value; empty until the token is exchanged
	current   *websocket.Conn
	currentWG *sync.WaitGroup
}

// Listen binds the page's listener and draws its token. serve runs one WebSocket session; a new
// one replaces the previous (a reloaded page), which is closed and waited for first.
func Listen(opts ListenOptions, serve func(ctx context.Context, ws *websocket.Conn)) (*Page, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := opts.Addr
	if addr == "" {
		addr = DefaultListen
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("gui: listen address %q: want IP:PORT, such as %s: %w", addr, DefaultListen, err)
	}
	if !ap.Addr().IsLoopback() { // spec Appendix D [GUI-1]
		if !opts.Explicit {
			return nil, fmt.Errorf("%w: %s", ErrNotLoopback, addr)
		}
		log.Warn("gui: listening on a non-loopback address: other machines can reach the page; only the token keeps them out", "addr", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("gui: %w", err)
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("gui: %w", err)
	}
	token, err := random128()
	if err != nil {
		ln.Close()
		return nil, err
	}
	bound := ln.Addr().(*net.TCPAddr).AddrPort()
	host := bound.String()
	if bound.Addr().IsUnspecified() {
		// Bound to every address: the address to open on this machine is the loopback one.
		host = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), bound.Port()).String()
	}
	p := &Page{
		ln:    ln,
		host:  host,
		anyIP: bound.Addr().IsUnspecified(),
		port:  fmt.Sprint(bound.Port()),
		log:   log,
		files: http.FileServerFS(sub),
		token: token,
		serve: serve,
	}
	p.cookie = CookieName + p.port
	p.upgrade = websocket.Upgrader{CheckOrigin: p.sameOrigin, ReadBufferSize: 4096, WriteBufferSize: 4096}
	return p, nil
}

// random128 returns 128 random bits in hex (spec Appendix D [GUI-2]).
func random128() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("gui: random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Addr returns the bound address.
func (p *Page) Addr() string { return p.host }

// URL returns the address to open: it carries the one-time token.
func (p *Page) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.host + "/?" + TokenParam + "=" + p.token
}

// Origin returns the page's origin, the only one its WebSocket accepts (GUI-5).
func (p *Page) Origin() string { return "http://" + p.host }

// Serve answers requests until ctx ends, then closes the listener and the WebSocket session.
func (p *Page) Serve(ctx context.Context) error {
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
	}
	stop := context.AfterFunc(ctx, func() {
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		p.closeCurrent()
	})
	defer stop()
	err := srv.Serve(p.ln)
	p.closeCurrent()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("gui: %w", err)
}

// ServeHTTP checks every request before it reaches the assets or the WebSocket.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range securityHeaders { // spec Appendix D [GUI-6]
		w.Header().Set(k, v)
	}
	if !p.validHost(r.Host) { // spec Appendix D [GUI-4]
		p.refuse(w, "wrong Host", "this page answers only at "+p.host)
		return
	}
	if r.URL.Path == "/" && r.URL.Query().Has(TokenParam) {
		p.exchange(w, r)
		return
	}
	if !p.hasSession(r) { // spec Appendix D [GUI-3]
		p.refuse(w, "no session cookie", "open the address that blindpost gui printed")
		return
	}
	if r.URL.Path == WSPath {
		p.websocket(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p.files.ServeHTTP(w, r)
}

func (p *Page) refuse(w http.ResponseWriter, why, hint string) {
	p.log.Info("gui: refused a request", "why", why)
	http.Error(w, "forbidden: "+hint, http.StatusForbidden)
}

// validHost reports whether host names the listener itself (spec Appendix D [GUI-4]): exactly
// its address and port, or, on an explicitly unspecified bind, an IP literal with its port (a
// name could be rebound by DNS; an IP literal cannot).
func (p *Page) validHost(host string) bool {
	if host == p.host {
		return true
	}
	if !p.anyIP {
		return false
	}
	ap, err := netip.ParseAddrPort(host)
	return err == nil && fmt.Sprint(ap.Port()) == p.port
}

// exchange trades the token for the session cookie, once (spec Appendix D [GUI-2]).
func (p *Page) exchange(w http.ResponseWriter, r *http.Request) {
	given := r.URL.Query().Get(TokenParam)
	p.mu.Lock()
	ok := p.token != "" && subtle.ConstantTimeCompare([]byte(given), []byte(p.token)) == 1
	var session string
	if ok {
		var err error
		if session, err = random128(); err != nil {
			p.mu.Unlock()
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		p.token, p.session = "", session
	}
	p.mu.Unlock()
	if !ok {
		p.refuse(w, "unknown or used token", "this address was already opened; restart blindpost gui for a new one")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: p.cookie, Value: session, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	// The token leaves the address bar and the history.
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// hasSession reports whether the request carries the session cookie (spec Appendix D [GUI-3]).
func (p *Page) hasSession(r *http.Request) bool {
	p.mu.Lock()
	want := p.session
	p.mu.Unlock()
	if want == "" {
		return false
	}
	for _, c := range r.CookiesNamed(p.cookie) {
		if subtle.ConstantTimeCompare([]byte(c.Value), []byte(want)) == 1 {
			return true
		}
	}
	return false
}

// sameOrigin is the WebSocket's origin check (spec Appendix D [GUI-5]).
func (p *Page) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	return origin != "" && origin == "http://"+r.Host && p.validHost(r.Host)
}

// websocket upgrades the request and runs one session; a newer session replaces it.
func (p *Page) websocket(w http.ResponseWriter, r *http.Request) {
	if !p.sameOrigin(r) {
		p.refuse(w, "foreign Origin", "the WebSocket accepts only its own page")
		return
	}
	ws, err := p.upgrade.Upgrade(w, r, nil)
	if err != nil {
		p.log.Info("gui: websocket upgrade failed", "err", err)
		return
	}
	wg := &sync.WaitGroup{}
	wg.Add(1)
	p.swap.Lock()
	p.closeCurrent()
	p.mu.Lock()
	p.current, p.currentWG = ws, wg
	p.mu.Unlock()
	p.swap.Unlock()
	defer wg.Done()
	defer ws.Close()
	p.serve(r.Context(), ws)
}

// closeCurrent closes the running WebSocket session, if any, and waits until it has ended.
func (p *Page) closeCurrent() {
	p.mu.Lock()
	ws, wg := p.current, p.currentWG
	p.current, p.currentWG = nil, nil
	p.mu.Unlock()
	if ws == nil {
		return
	}
	_ = ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseGoingAway, "another page took over"), time.Now().Add(time.Second))
	ws.Close()
	wg.Wait()
}
