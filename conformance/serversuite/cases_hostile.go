package serversuite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/hostile"
	"github.com/blindpost/blindpost/impl/e2ee/identity"
	"github.com/blindpost/blindpost/impl/wire"
)

// hostileBase is a valid message of one type that the hostile cases mutate. The targets are
// chosen so that a variant the server must accept is harmless: forwarded requests go to the
// sender itself (bad_target), group requests to groups it is not in. Relays go to a name never
// bound (unknown_user) instead: a relay to its sender may be refused before its text is looked
// at as closely as one that could be forwarded is, on a relay's fast path.
type hostileBase struct {
	typ   string
	build func(c *Client, group func(role string) string) []baseMsg
}

// baseMsg is one valid message and the part of it to mutate ("" for all of it).
type baseMsg struct {
	data  []byte
	under string
}

func enc(m wire.Message) []byte {
	b, err := wire.Encode(m)
	if err != nil {
		panic(fmt.Sprintf("serversuite: invalid base %s: %v", m.MessageType(), err))
	}
	return b
}

// hostileBases holds one base of every client message type; hello and register come first.
var hostileBases = []hostileBase{
	{"hello", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.Hello{ID: "h1", Protocol: "blindpost/1", User: c.Name})}}
	}},
	{"register", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(RegisterMsg("h2", c.Key, c.Name, Random(c.t, 32), c.Pin))}}
	}},
	{"get_pubkey", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.GetPubkey{ID: "h3", User: c.Name})}}
	}},
	{"list_users", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.ListUsers{ID: "h4"})}}
	}},
	{"chat_request", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.ChatRequest{ID: "h5", To: c.Name, Session: Session(c.t)})}}
	}},
	{"chat_response", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.ChatResponse{ID: "h6", To: c.Name, Session: Session(c.t), Accepted: true})}}
	}},
	{"chat_terminate", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.ChatTerminate{ID: "h7", To: c.Name, Session: Session(c.t)})}}
	}},
	{"relay", func(c *Client, group func(string) string) []baseMsg {
		var out []baseMsg
		nobody := ("x" + c.Name)[:min(len(c.Name)+1, 32)] // bound by no case
		for i, p := range payloads(c.t) {
			b := baseMsg{data: enc(&wire.Relay{ID: "h8", To: nobody, Session: Session(c.t), Payload: p})}
			if i > 0 {
				b.under = "/payload" // the envelope is mutated once, with the first payload
			}
			out = append(out, b)
		}
		return out
	}},
	{"group_join", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.GroupJoin{ID: "h9", Group: group("hostile")})}}
	}},
	{"group_leave", func(c *Client, group func(string) string) []baseMsg {
		return []baseMsg{{data: enc(&wire.GroupLeave{ID: "h10", Group: group("elsewhere")})}}
	}},
	{"group_commit", func(c *Client, group func(string) string) []baseMsg {
		cm := testCommit(c.t, group("elsewhere"), 2, c.Name, []*Client{c})
		return []baseMsg{{data: enc(&wire.GroupCommit{ID: "h11", Commit: cm})}}
	}},
	{"group_message", func(c *Client, group func(string) string) []baseMsg {
		m := wire.GroupMsg{Group: group("elsewhere"), Epoch: 1, N: 5, Ct: Random(c.t, 30), Sig: Random(c.t, 64)}
		return []baseMsg{{data: enc(&wire.GroupMessage{ID: "h12", Message: m})}}
	}},
}

func init() {
	for _, b := range hostileBases {
		for _, class := range hostile.Classes {
			if !classApplies(b, class) {
				continue
			}
			add(harness.Case{
				ID:          fmt.Sprintf("hostile/%s/%s", b.typ, class),
				Rules:       append(class.Rules(), "ERR-1", "ERR-3"),
				Description: fmt.Sprintf("%s messages with %s, from a registered connection: each invalid one gets bad_message (echoing a readable id) and the connection lives, each valid one is accepted; a liveness probe relays before and after", b.typ, class),
				Run:         func(t *harness.T) { hostileRegistered(t, b, class) },
			})
		}
	}
	for _, class := range hostile.Classes {
		if !classApplies(hostileBases[0], class) && !classApplies(hostileBases[1], class) {
			continue // hello and register have nothing this class can spoil (no integers)
		}
		add(harness.Case{
			ID:          "hostile-unregistered/" + string(class),
			Rules:       append(class.Rules(), "REG-10", "ERR-2"),
			Description: fmt.Sprintf("hello (first) and register (after hello) with %s, each on a new connection: an invalid one gets bad_message, then close 1008; a liveness probe relays before and after", class),
			Run:         func(t *harness.T) { hostileUnregistered(t, class) },
		})
	}
	add(harness.Case{ID: "hostile/not-one-object", Rules: []string{"MSG-3", "ERR-1", "ERR-3"},
		Description: "texts that are not exactly one JSON object (arrays, scalars, two objects, trailing data, truncation, a BOM, empty text) get bad_message from a registered connection, which lives",
		Run:         notOneObject})
	add(harness.Case{ID: "hostile-unregistered/not-one-object", Rules: []string{"MSG-3", "REG-10"},
		Description: "texts that are not exactly one JSON object as the first message get bad_message, then close 1008",
		Run:         notOneObjectUnregistered})
}

// classApplies reports whether class gives frames for the base type (with placeholder values).
func classApplies(b hostileBase, class hostile.Class) bool {
	dummy := &Client{Name: "alice", Key: placeholderKey, Pin: make([]byte, 32)}
	for _, m := range b.build(dummy, func(role string) string { return "g-" + role }) {
		frames, err := hostile.Generate(m.data, class, hostile.Options{Under: m.under})
		if err != nil {
			panic(err)
		}
		if len(frames) > 0 {
			return true
		}
	}
	return false
}

// hostileRun holds the connections of a hostile case: the attacker, replaced when the server
// closes it, and the liveness probe.
type hostileRun struct {
	t        *harness.T
	attacker *Client
	probe    *Probe
	rule     string
}

func hostileRegistered(t *harness.T, b hostileBase, class hostile.Class) {
	h := &hostileRun{t: t, probe: NewProbe(t), rule: class.Rules()[0]}
	h.probe.Check("before the hostile input")
	h.attacker = Register(t, "attacker")
	canary := "Zc4n" + b64(Random(t, 9))
	var all []hostile.Frame
	for _, m := range b.build(h.attacker, func(role string) string { return GroupName(t, role) }) {
		frames, err := hostile.Generate(m.data, class, hostile.Options{Under: m.under, Canary: canary, MaxBytes: int(h.attacker.Limits.MaxMessage)})
		if err != nil {
			t.Fatalf("generating %s frames: %v", class, err)
		}
		all = append(all, frames...)
	}
	frames := sampleFrames(t, all)
	for _, f := range frames {
		h.send(f)
	}
	sent := len(frames)
	if sent == 0 {
		t.Fatalf("the suite generated no %s variant of %s: nothing was checked", class, b.typ)
	}
	t.Logf("%d %s variants of %s sent", sent, class, b.typ)
	h.attacker.Alive("ERR-3")
	h.probe.Check("after the hostile input")
}

// send sends one hostile frame on the registered attacker and checks the answer.
func (h *hostileRun) send(f hostile.Frame) {
	t, c := h.t, h.attacker
	if len(f.Data) > int(c.Limits.MaxMessage) {
		c.SendRaw(f.Data)
		c.ExpectClose("WS-5", websocket.CloseMessageTooBig)
		h.attacker = Register(t, "attacker")
		return
	}
	c.SendRaw(f.Data)
	r := c.Response("the answer to " + f.Name)
	rule := h.rule
	if bytes.Contains(f.Data, []byte(`"from":`)) {
		rule = "SRV-2"
	}
	switch {
	case r.Kind != KindText:
		t.MismatchMsg("ERR-3", "an error bad_message, the connection staying open", r.Short(), "the server closed a registered connection for %s", f.Name)
		h.attacker = Register(t, "attacker")
	case f.Valid && r.Type == "error" && r.Str("code") == "bad_message":
		t.MismatchMsg(rule, "the message accepted (it is valid: anything but bad_message)", r.Short(), "valid message refused: %s: %s", f.Name, f.Data)
	case !f.Valid && (r.Type != "error" || r.Str("code") != "bad_message"):
		t.MismatchMsg(rule, "error bad_message ("+f.Violation+")", r.Short(), "invalid message not refused: %s: %s", f.Name, printable(f.Data))
	case !f.Valid:
		c.checkRequestID(f.Data, r)
	}
}

func printable(data []byte) string {
	s, _ := harness.Printable(data, 400)
	return s
}

func hostileUnregistered(t *harness.T, class hostile.Class) {
	probe := NewProbe(t)
	probe.Check("before the hostile input")
	name := Name(t, "attacker")
	key := Key(t, name, 0)
	canary := "Zc4n" + b64(Random(t, 9))
	bases := []struct {
		data  []byte
		hello bool // sent after a valid hello
	}{
		{enc(&wire.Hello{ID: "u1", Protocol: "blindpost/1", User: name}), false},
		{enc(RegisterMsg("u2", key, name, Random(t, 32), make([]byte, 32))), true},
	}
	sent := 0
	for _, b := range bases {
		frames, err := hostile.Generate(b.data, class, hostile.Options{Canary: canary, MaxBytes: int(probe.a.Limits.MaxMessage)})
		if err != nil {
			t.Fatalf("generating %s frames: %v", class, err)
		}
		frames = sampleFrames(t, frames)
		sent += len(frames)
		for _, f := range frames {
			c := Dial(t, "attacker")
			if b.hello {
				c.Hello(name)
			}
			unregisteredFrame(t, c, f, class.Rules()[0], probe.a.Limits.MaxMessage)
			c.Close()
		}
	}
	if sent == 0 {
		t.Fatalf("the suite generated no %s variant of hello or register: nothing was checked", class)
	}
	t.Logf("%d %s variants sent, each on a new connection", sent, class)
	probe.Check("after the hostile input")
}

// unregisteredFrame sends one frame before registration and checks the answer: bad_message
// then close 1008 for an invalid one (REG-10), anything but bad_message for a valid one.
func unregisteredFrame(t *harness.T, c *Client, f hostile.Frame, rule string, maxMessage int64) {
	if len(f.Data) > int(maxMessage) {
		c.SendRaw(f.Data)
		c.ExpectClose("WS-5", websocket.CloseMessageTooBig)
		return
	}
	c.SendRaw(f.Data)
	if !f.Valid {
		c.ExpectRefusal("REG-10", f.Data, "bad_message", websocket.ClosePolicyViolation)
		return
	}
	r := c.Response("the answer to " + f.Name)
	if r.Type == "error" && r.Str("code") == "bad_message" {
		t.MismatchMsg(rule, "the message accepted (it is valid: anything but bad_message)", r.Short(), "valid message refused: %s: %s", f.Name, f.Data)
	}
}

func notOneObject(t *harness.T) {
	h := &hostileRun{t: t, probe: NewProbe(t), rule: "MSG-3"}
	h.probe.Check("before the hostile input")
	h.attacker = Register(t, "attacker")
	for _, f := range hostile.NotOneObject(enc(&wire.ListUsers{ID: "n1"})) {
		h.send(f)
	}
	h.attacker.Alive("ERR-3")
	h.probe.Check("after the hostile input")
}

func notOneObjectUnregistered(t *harness.T) {
	probe := NewProbe(t)
	probe.Check("before the hostile input")
	name := Name(t, "attacker")
	for _, f := range hostile.NotOneObject(enc(&wire.Hello{ID: "n2", Protocol: "blindpost/1", User: name})) {
		c := Dial(t, "attacker")
		unregisteredFrame(t, c, f, "MSG-3", probe.a.Limits.MaxMessage)
		c.Close()
	}
	probe.Check("after the hostile input")
}

// RequestMeta returns what the bad_message answering data must echo (spec MSG-5): the id when the
// top-level object holds exactly one schema-valid id member, the type (for error.for) when it
// holds exactly one schema-valid type member, "" otherwise. judged is false when the spec does
// not decide: the text starts as an object but is not exactly one JSON value (trailing data, a
// truncation, nesting too deep to read), or is not UTF-8 (which closes with 1007 anyway).
func RequestMeta(data []byte) (id, typ string, judged bool) {
	if !utf8.Valid(data) {
		return "", "", false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", "", true // no top-level object: nothing to echo
	}
	values := map[string][]json.RawMessage{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", "", false
		}
		if k, _ := key.(string); k == "id" || k == "type" {
			values[k] = append(values[k], raw)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return "", "", false
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", "", false
	}
	// The id syntax of schemas/defs.json and the request types of client-message.json.
	if s, ok := single(values["id"]); ok && wire.ValidID(s) {
		id = s
	}
	if s, ok := single(values["type"]); ok && slices.Contains(wire.RequestTypes(), wire.RequestType(s)) {
		typ = s
	}
	return id, typ, true
}

// ReadableID returns the id a response to data must echo: RequestMeta's id.
func ReadableID(data []byte) string {
	id, _, _ := RequestMeta(data)
	return id
}

// single returns the string of a member that appears exactly once, as a string.
func single(values []json.RawMessage) (string, bool) {
	var s string
	if len(values) != 1 || json.Unmarshal(values[0], &s) != nil {
		return "", false
	}
	return s, true
}

// placeholderKey stands for a registered client's key where only the shape of a message matters.
var placeholderKey = func() *identity.PrivateKey {
	k, err := identity.FromSeed(make([]byte, identity.SeedSize))
	if err != nil {
		panic(err)
	}
	return k
}()
