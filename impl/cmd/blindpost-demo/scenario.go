package main

import (
	"errors"
	"fmt"

	"github.com/blindpost/blindpost/impl/client"
	"github.com/blindpost/blindpost/impl/client/wiretap"
)

// scenario is the story the demo tells, step by step.
type scenario struct {
	net        *network
	drivers    []*driverProc // alice, bob
	steps      []step
	plaintexts []string
	mark       int
	names      map[int64]string
}

// record ends a step: what the clients saw, and the messages that crossed since the last step.
func (sc *scenario) record(title string, saw ...string) {
	frames := sc.net.frames()
	st := step{title: title, client: saw}
	if sc.names == nil {
		sc.names = map[int64]string{}
	}
	for _, f := range frames {
		if _, ok := sc.names[f.Conn]; !ok {
			if s, ok := describe(f, "?"); ok && len(s) > 0 {
				if user, found := helloUser(f); found {
					sc.names[f.Conn] = user
				}
			}
		}
	}
	for _, f := range frames[sc.mark:] {
		if s, ok := describe(f, sc.names[f.Conn]); ok && (f.Direction == wiretap.ToRelay || !isForwarded(f)) {
			st.relay = append(st.relay, s)
		}
	}
	sc.mark = len(frames)
	sc.steps = append(sc.steps, st)
}

func (sc *scenario) play() error {
	alice, bob := sc.drivers[0], sc.drivers[1]
	url, pin := sc.net.tap.URL(), sc.net.tap.Pin().String()
	var fps []string
	for _, d := range sc.drivers {
		r, err := d.do("connect", "url", url, "user", d.name, "pin", pin)
		if err != nil {
			return err
		}
		fps = append(fps, fmt.Sprintf("%s registered (key %s…)", d.name, r.str("fingerprint")[:15]))
	}
	sc.record("1. alice and bob connect and register", fps...)

	r, err := alice.do("chat", "peer", "bob")
	if err != nil {
		return err
	}
	sid := r.str("session")
	if _, err := bob.await(map[string]any{"event": "chat_request", "session": sid}); err != nil {
		return err
	}
	if _, err := bob.do("accept", "session", sid); err != nil {
		return err
	}
	for _, d := range sc.drivers {
		if _, err := d.await(map[string]any{"event": "session", "session": sid, "state": "secured"}); err != nil {
			return err
		}
	}
	sc.record("2. a 1:1 session: consent and handshake",
		"alice asks bob for a chat", "bob accepts", "alice: secured with bob", "bob: secured with alice")

	if err := sc.say(alice, bob, sid, "Hi Bob! Lunch at noon?"); err != nil {
		return err
	}
	if err := sc.say(bob, alice, sid, "Sure. The usual place?"); err != nil {
		return err
	}

	a, err := alice.do("safety_number", "peer", "bob")
	if err != nil {
		return err
	}
	b, err := bob.do("safety_number", "peer", "alice")
	if err != nil {
		return err
	}
	same := "the same: no key was substituted"
	if a.str("digits") != b.str("digits") {
		same = "DIFFERENT: a key was substituted!"
	}
	sc.record("5. they compare safety numbers", append(append(append([]string{"alice sees:"}, halves(a.str("digits"))...),
		"bob sees:"), append(halves(b.str("digits")), "→ "+same)...)...)

	if _, err := alice.do("end", "session", sid); err != nil {
		return err
	}
	if _, err := bob.await(map[string]any{"event": "session", "session": sid, "state": "ended"}); err != nil {
		return err
	}
	sc.record("6. alice ends the session", "alice: session ended, keys erased", "bob: ended by alice (verified close)")

	return sc.group(alice, bob)
}

// say sends text from one driver to the other and records the step.
func (sc *scenario) say(from, to *driverProc, sid, text string) error {
	sc.plaintexts = append(sc.plaintexts, text)
	if _, err := from.do("send", "session", sid, "text", text); err != nil {
		return err
	}
	if _, err := to.await(map[string]any{"event": "message", "session": sid, "text": text}); err != nil {
		return err
	}
	n := len(sc.steps) + 1
	sc.record(fmt.Sprintf("%d. %s writes to %s", n, from.name, to.name), fmt.Sprintf("%s → %s: %q", from.name, to.name, text))
	return nil
}

func (sc *scenario) group(alice, bob *driverProc) error {
	for i, d := range sc.drivers {
		if _, err := d.do("group_join", "group", client.Broadcast); err != nil {
			return err
		}
		for _, e := range sc.drivers[:i+1] {
			if _, err := e.await(map[string]any{"event": "group", "group": client.Broadcast, "epoch": i + 1}); err != nil {
				return err
			}
		}
	}
	sc.record("7. both join the broadcast group",
		"alice joins: epoch 1 keyed for alice", "bob joins: epoch 2 keyed for alice and bob",
		"(each joiner commits a fresh epoch secret, HPKE-wrapped to every member's group key)")
	for _, p := range [][2]*driverProc{{alice, bob}, {bob, alice}} {
		text := "Hello everyone, " + p[0].name + " here."
		sc.plaintexts = append(sc.plaintexts, text)
		if _, err := p[0].do("group_send", "group", client.Broadcast, "text", text); err != nil {
			return err
		}
		if _, err := p[1].await(map[string]any{"event": "group_message", "text": text}); err != nil {
			return err
		}
		sc.record(fmt.Sprintf("%d. %s writes to the group", len(sc.steps)+1, p[0].name),
			fmt.Sprintf("%s → broadcast: %q", p[0].name, text), "(signed by "+p[0].name+")")
	}
	return nil
}

// stop quits both drivers; each must exit 0.
func (sc *scenario) stop() error {
	var errs []error
	for _, d := range sc.drivers {
		errs = append(errs, d.stop())
	}
	sc.drivers = nil
	return errors.Join(errs...)
}

// kill ends the drivers that are still running (after an error).
func (sc *scenario) kill() {
	for _, d := range sc.drivers {
		d.stdin.Close()
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
}

// halves shows a safety number on two lines of six groups.
func halves(digits string) []string {
	f := client.FormatSafetyNumber(digits)
	if len(f) != 71 {
		return []string{"  " + f}
	}
	return []string{"  " + f[:35], "  " + f[36:]}
}
