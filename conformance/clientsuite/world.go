package clientsuite

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
)

// ClientName is the username the client under test registers. Peers named below it ("alice",
// "bob") sort before it and peers named above it ("dave", "erin") after it, which decides who
// commits a group epoch (spec §7.1 "Who commits").
const ClientName = "client"

// syncName is the virtual user whose chat requests serve as barriers (World.Sync).
const syncName = "zz-sync"

// World is the setting of one case: the relay the client is connected to, the driver that runs
// the client, and the virtual peers around it.
type World struct {
	T     *harness.T
	Env   *Env
	Relay *Relay
	D     *Driver
	// Me is the client as it registered: the runner learns its keys from register.
	Me   Registration
	Wait time.Duration

	rnd      *rand.Rand
	syncPeer *Peer
	texts    []string // plaintexts exchanged, which must never reach a log (CLI-4)
}

// envOf returns the suite's environment of a case.
func envOf(t *harness.T) *Env {
	e, ok := t.Env().(*Env)
	if !ok {
		panic(fmt.Sprintf("clientsuite: case %s run without a *clientsuite.Env (got %T)", t.Case().ID, t.Env()))
	}
	return e
}

// Start starts the relay and the driver, connects the client as ClientName and waits until it
// registered.
func Start(t *harness.T) *World {
	w := Launch(t)
	w.Connect(ClientName, nil)
	return w
}

// Launch starts the relay and the driver without connecting.
func Launch(t *harness.T) *World {
	env := envOf(t)
	w := &World{T: t, Env: env, Wait: env.cfg.Wait, rnd: t.Rand()}
	w.Relay = startRelay(t, env)
	t.Cleanup(w.checkLogs) // after the driver stopped: cleanups run last registered first
	w.D = startDriver(t, env)
	return w
}

// Connect sends connect (with seed when not nil, DRV-5) and waits for the registration. The
// response must give the registered identity key and its fingerprint (spec A.1).
func (w *World) Connect(user string, seed []byte) {
	args := []any{"url", w.Relay.URL, "user", user, "pin", w.Env.Pin()}
	if seed != nil {
		args = append(args, "seed", b64(seed))
	}
	resp := w.D.Connect(args...)
	reg, ok := w.Relay.Registered(w.Wait)
	if !ok {
		w.T.Fatalf("timed out waiting for the client to register at the relay after connect answered %s (%s)", resp, w.Wait)
	}
	w.Me = reg
	if got := resp.Str("identity_key"); got != b64(reg.IdentityKey) {
		w.T.Errorf("connect answered identity_key %q, but the client registered %s", got, b64(reg.IdentityKey))
	}
	if got := resp.Str("fingerprint"); got != identity.Fingerprint(reg.IdentityKey) {
		w.T.Errorf("connect answered fingerprint %q, but the registered key's is %s", got, identity.Fingerprint(reg.IdentityKey))
	}
}

// Rand returns the case's random source.
func (w *World) Rand() *rand.Rand { return w.rnd }

// RandBytes returns n bytes from the case's random source.
func (w *World) RandBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(w.rnd.Uint32())
	}
	return b
}

// Text returns a fresh message text, remembered so that it can be looked for in the driver's
// logs (CLI-4).
func (w *World) Text(label string) string {
	s := fmt.Sprintf("%s %x", label, w.RandBytes(6))
	w.texts = append(w.texts, s)
	return s
}

// Sync is a barrier: a virtual user sends the client a chat_request, and Sync returns once the
// client reported it. A client handles the relay's messages in order, so everything it does
// because of earlier messages has been reported by then.
func (w *World) Sync() {
	if w.syncPeer == nil {
		w.syncPeer = w.NewPeer(syncName)
	}
	sid := w.RandBytes(16)
	w.syncPeer.ChatRequest(sid)
	w.D.Next("the chat_request event of barrier session "+b64(sid), func(l Line) bool {
		return l.Event() == "chat_request" && l.Str("session") == b64(sid)
	})
}

// Reject is a rejection a case expects from the client.
type Reject struct {
	What    string   // what the client must reject, for people
	Code    string   // the outcome code (spec A.4)
	Rules   []string // rule ids the security event may name; the first requires the rejection
	Session string   // when set, security events naming another session are not this one's
	Group   string   // when set, security events naming another group are not this one's
	// Accepted matches the events that show the client accepted what it had to reject, for
	// example the session becoming secured or the message being delivered.
	Accepted func(Line) bool
}

// ExpectReject waits for the client's verdict: the security event x describes (the code, and a
// rule among x.Rules: DRV-2), not another code, not an event showing acceptance, not silence
// (CLI-2). It stops the case when the verdict is wrong.
func (w *World) ExpectReject(x Reject) Line {
	rule := x.Rules[0]
	expected := fmt.Sprintf("%s rejected: security event %s [%s]", x.What, x.Code, strings.Join(x.Rules, " or "))
	l, ok := w.D.NextWithin("the security event "+x.Code+" for "+x.What, w.Wait, func(l Line) bool {
		if IsSecurity(l) {
			return !(x.Session != "" && l.Has("session") && l.Str("session") != x.Session) &&
				!(x.Group != "" && l.Has("group") && l.Str("group") != x.Group)
		}
		return x.Accepted != nil && x.Accepted(l)
	})
	switch {
	case !ok:
		w.T.MismatchMsg(rule, expected, "no security event within "+w.Wait.String()+"; events: "+describeLines(w.D.Events(), 10),
			"timed out waiting for the security event %s for %s%s", x.Code, x.What, w.D.exitNote())
		runtime.Goexit()
	case !IsSecurity(l):
		w.T.MismatchMsg(rule, expected, "accepted: "+l.String(), "the client accepted %s", x.What)
		runtime.Goexit()
	case l.Str("code") != x.Code:
		w.T.MismatchMsg(rule, expected, l.String(), "the client rejected %s with %s instead of %s", x.What, l.Str("code"), x.Code)
		runtime.Goexit()
	case !slices.Contains(x.Rules, l.Str("rule")):
		w.T.MismatchMsg("DRV-2", expected, l.String(), "the security event for %s names rule %s", x.What, l.Str("rule"))
	}
	return l
}

// Never checks that no event so far matches match: what was rejected was never delivered (call
// Sync first, so that "so far" covers everything sent before).
func (w *World) Never(rule, what string, match func(Line) bool) {
	for _, l := range w.D.Events() {
		if match(l) {
			w.T.MismatchMsg(rule, "no "+what, l.String(), "the client delivered %s", what)
		}
	}
}

// NoSecurityEvents checks that the client rejected nothing that was not expected: every
// security event must have been taken by ExpectReject. Call Sync first.
func (w *World) NoSecurityEvents(rule string) {
	for _, l := range w.D.Untaken(IsSecurity) {
		w.T.MismatchMsg(rule, "no rejection of honest messages", l.String(), "the client rejected something honest")
	}
}

// Expect waits for an event the case needs (a session secured, a message delivered); a
// security event that comes first fails the case at once with rule, so that a client rejecting
// honest input fails fast and readably.
func (w *World) Expect(rule, what string, match func(Line) bool) Line {
	l, ok := w.D.NextWithin(what, w.Wait, Either(match, IsSecurity))
	switch {
	case !ok:
		w.T.MismatchMsg(rule, what, "nothing within "+w.Wait.String()+"; events: "+describeLines(w.D.Events(), 10),
			"timed out waiting for %s%s", what, w.D.exitNote())
		runtime.Goexit()
	case !match(l):
		w.T.MismatchMsg(rule, what, l.String(), "the client rejected honest input while the case waited for %s", what)
		runtime.Goexit()
	}
	return l
}

// checkLogs checks that no plaintext the case exchanged reached the driver's standard error
// (spec §9 [CLI-4]).
func (w *World) checkLogs() {
	if w.D == nil {
		return
	}
	logs := []byte(w.D.Stderr())
	for _, s := range w.texts {
		if bytes.Contains(logs, []byte(s)) {
			w.T.MismatchMsg("CLI-4", "no plaintext in the client's logs", s, "the driver's standard error holds the plaintext %q", s)
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(s string) []byte {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil
	}
	return b
}
