package serversuite

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// The ids of the cases whose deadline follows the server's timers or its directory limit
// (Env.TimeoutFor).
const (
	caseDeadline   = Suite + "/registration/deadline"
	caseKeepalive  = Suite + "/keepalive/ping-and-timeout"
	caseServerFull = Suite + "/registration/server-full"
)

// add registers a case of the suite; its id is given without the "server/" prefix.
func add(c harness.Case) {
	c.ID = Suite + "/" + c.ID
	harness.Register(c)
}

func init() {
	add(harness.Case{ID: "registration/hello-ack", Rules: []string{"REG-1", "MSG-5"},
		Description: "hello is answered by hello_ack with a 32-byte challenge and the limits, echoing the id when there is one and carrying none otherwise",
		Run:         helloAck})
	add(harness.Case{ID: "registration/challenge-fresh", Rules: []string{"REG-1"},
		Description: "every hello_ack carries a different challenge",
		Run:         challengeFresh})
	add(harness.Case{ID: "registration/register-ack", Rules: []string{"REG-3", "REG-5", "TLS-6"},
		Description: "a register whose proof covers the challenge, the pin of the certificate the server presented, the user and both keys gets register_ack with the key's fingerprint",
		Run:         registerAck})
	add(harness.Case{ID: "registration/bad-proof", Rules: []string{"REG-3", "ERR-1", "ERR-2", "WS-10"},
		Description: "a register whose proof does not verify gets error bad_proof, then close 1008",
		Run:         func(t *harness.T) { badRegister(t, "REG-3", corruptProof) }})
	add(harness.Case{ID: "registration/proof-other-pin", Rules: []string{"REG-3", "TLS-6"},
		Description: "a proof bound to another server's pin gets error bad_proof, then close 1008",
		Run:         func(t *harness.T) { badRegister(t, "REG-3", proofOtherPin) }})
	add(harness.Case{ID: "registration/proof-other-user", Rules: []string{"REG-3"},
		Description: "a proof signed for another username than the one in hello gets error bad_proof, then close 1008",
		Run:         func(t *harness.T) { badRegister(t, "REG-3", proofOtherUser) }})
	add(harness.Case{ID: "registration/proof-s-not-reduced", Rules: []string{"VEC-3", "REG-3"},
		Description: "a genuine proof with the group order added to its S (same R, S not below L, RFC 8032 §5.1.7) gets error bad_proof, then close 1008",
		Run:         func(t *harness.T) { badRegister(t, "VEC-3", proofSNotReduced) }})
	add(harness.Case{ID: "registration/bad-group-key-sig", Rules: []string{"REG-4", "ERR-2"},
		Description: "a group_key_sig that does not verify with the identity key (another key, another user, another group key) gets error bad_proof, then close 1008",
		Run:         badGroupKeySig})
	add(harness.Case{ID: "registration/proof-replayed", Rules: []string{"REG-2", "REG-3"},
		Description: "a valid proof replayed on another connection, whose challenge differs, gets error bad_proof, then close 1008",
		Run:         proofReplayed})
	add(harness.Case{ID: "registration/register-before-hello", Rules: []string{"REG-8", "ERR-2"},
		Description: "register as the first message gets error out_of_order, then close 1008",
		Run:         registerFirst})
	add(harness.Case{ID: "registration/second-hello", Rules: []string{"REG-8"},
		Description: "a second hello before register gets error out_of_order, then close 1008",
		Run:         secondHello})
	add(harness.Case{ID: "registration/request-before-registration", Rules: []string{"REG-8", "SRV-1"},
		Description: "every other request before registration (first, or after hello) gets error out_of_order, then close 1008, and is not forwarded",
		Run:         requestBeforeRegistration})
	add(harness.Case{ID: "registration/bad-message-before", Rules: []string{"REG-10"},
		Description: "a schema-invalid message before registration gets error bad_message, then close 1008",
		Run:         badMessageBefore})
	add(harness.Case{ID: "registration/deadline", Rules: []string{"WS-9", "REG-2"},
		Description: "a connection that sends nothing, and one that sends only hello, are closed with 1008 at the registration deadline",
		Run:         registrationDeadline})
	add(harness.Case{ID: "registration/identity-mismatch", Rules: []string{"REG-5", "REG-6", "ERR-2"},
		Description: "register of a bound name with another identity key gets error identity_mismatch, then close 1008, and the binding stays",
		Run:         identityMismatch})
	add(harness.Case{ID: "registration/check-order", Rules: []string{"REG-14", "REG-3", "REG-4", "ERR-2"},
		Description: "register of a bound name with another identity key and a bad proof, or a bad group key signature, gets bad_proof, not identity_mismatch: the proof is checked before the binding",
		Run:         checkOrder})
	add(harness.Case{ID: "registration/replaced-4001", Rules: []string{"REG-7", "GSV-3", "WS-10"},
		Description: "a second connection registering the same identity closes the first with 4001, which leaves its groups",
		Run:         replaced})
	add(harness.Case{ID: "registration/out-of-order-after", Rules: []string{"REG-9"},
		Description: "hello and register after registration get error out_of_order and the connection stays open",
		Run:         outOfOrderAfter})
	add(harness.Case{ID: "registration/server-full", Rules: []string{"REG-13", "REG-14", "ERR-2", "LIM-5", "CLU-7"}, Final: true,
		Description: "with --max-users N, fresh usernames are registered at once (released together, behind registrations with a bad proof that must get bad_proof) " +
			"and then one by one until the directory is full: no more than N are " +
			"accepted, the next gets error server_full then close 1008, another key for a bound name gets identity_mismatch (REG-14), " +
			"and a name already bound still registers; " +
			"it runs last, because the names stay bound",
		Run: serverFull})
}

// racingRegistrations registers fresh names at once: however the server batches its directory
// writes, it accepts no more than limit (REG-13). A server that binds names in batches is
// caught only when many bindings reach one batch, so the case makes them reach the server's
// directory together. Every connection has its hello answered and all of its register frame
// but the last byte sent before anything is released, so the server holds incomplete messages
// only. Then decoys are released first: registrations with a bad proof, which the server must
// verify and refuse (REG-3) and which keep it busy while the last bytes of the racing
// registrations arrive behind them; the racing registrations are then verified back to back
// instead of one by one as their bytes come in. It returns the names bound and whether a
// server_full came.
func racingRegistrations(t *harness.T, limit int) (bound []string, full bool) {
	const (
		decoys = 20 // about a millisecond of a server's signature checks
		n      = 60 // enough for a batching server to take several at once, few enough for any server
	)
	// Every connection must be released well within the registration deadline (WS-9) of the
	// first one: on a slow machine fewer connections race. One in four is a decoy, so a cut
	// keeps the proportion.
	start := time.Now()
	budget := time.Duration(0)
	var decoy, racers []*pending
	defer func() { // a case that stops early leaves no frame half written
		for _, ps := range [][]*pending{decoy, racers} {
			for _, p := range ps {
				p.finish()
			}
		}
	}()
	for i := 0; len(decoy) < decoys || len(racers) < n; i++ {
		if budget > 0 && time.Since(start) > budget && len(racers) >= 2 {
			t.Logf("%d racing registrations and %d decoys made within half the registration deadline", len(racers), len(decoy))
			break
		}
		if i%4 == 0 && len(decoy) < decoys {
			decoy = append(decoy, pendingRegister(t, "decoy", fmt.Sprintf("decoy%d", len(decoy)), corruptProof))
		} else {
			racers = append(racers, pendingRegister(t, "race", fmt.Sprintf("race%d", len(racers)), nil))
		}
		if budget == 0 {
			budget = time.Duration(cmp.Or(decoy[0].c.Limits.RegisterTimeoutMs, 10000)) * time.Millisecond / 2
		}
	}
	releaseAll(t, decoy)
	releaseAll(t, racers)
	for _, p := range decoy {
		p.c.ExpectErrorThenClose("REG-3", p.id, "bad_proof", websocket.ClosePolicyViolation)
	}
	for _, p := range racers {
		c := p.c
		f := c.Response("register_ack or error server_full")
		switch {
		case f.Type == "register_ack":
			bound = append(bound, c.Name)
		case f.Type == "error" && f.Str("code") == "server_full":
			c.checkID(p.id, f)
			c.ExpectClose("REG-13", websocket.ClosePolicyViolation)
			full = true
		default:
			t.FatalMismatch("REG-13", describe("register_ack or error server_full", p.id), f.Short())
		}
		c.Close()
	}
	if len(bound) > limit {
		t.FatalMismatch("REG-13", fmt.Sprintf("at most %d of %d racing registrations of fresh names accepted", limit, len(racers)),
			fmt.Sprintf("%d accepted", len(bound)))
	}
	return bound, full
}

// pending is a register whose frame is on its way but for its last byte.
type pending struct {
	c     *Client
	id    string
	frame []byte
	held  bool // c.halfWritten is held until the last byte is written
}

// finish lets the client answer pings again, once.
func (p *pending) finish() {
	if p.held {
		p.held = false
		p.c.halfWritten.Unlock()
	}
}

// pendingRegister opens a connection for a fresh name, has its hello answered and sends its
// register, changed by corrupt when not nil, all but the frame's last byte. Until release
// writes that byte, the client holds the pongs it owes (Client.halfWritten).
func pendingRegister(t *harness.T, role, label string, corrupt func(*harness.T, *Client, *wire.Register)) *pending {
	c := Dial(t, role)
	c.Hello(Name(t, label))
	c.Key = Key(t, c.Name, 0)
	p := &pending{c: c, id: c.ID()}
	m := RegisterMsg(p.id, c.Key, c.Name, c.Challenge, c.Pin)
	if corrupt != nil {
		corrupt(t, c, m)
	}
	data, err := wire.Encode(m)
	if err != nil {
		t.Fatalf("the suite built an invalid register: %v", err)
	}
	t.Transcript().Add(c.label, harness.Out, "text", data)
	c.remember(data)
	p.frame = maskedTextFrame(data)
	c.halfWritten.Lock()
	if err := c.writeRaw(p.frame[:len(p.frame)-1]); err != nil {
		c.halfWritten.Unlock()
		t.Fatalf("%s: cannot send its register: %v", c.label, err)
	}
	p.held = true
	return p
}

// releaseAll sends the last byte of every pending frame at once, from one goroutine each, all
// waiting on one channel, so that they leave within a fraction of a millisecond; it returns
// when all are written. Each register is its connection's only message: within any burst.
func releaseAll(t *harness.T, ps []*pending) {
	release := make(chan struct{})
	errs := make([]error, len(ps))
	var parked, sent sync.WaitGroup
	for i, p := range ps {
		parked.Add(1)
		sent.Add(1)
		go func() {
			defer sent.Done()
			parked.Done()
			<-release
			errs[i] = p.c.writeRaw(p.frame[len(p.frame)-1:])
			p.finish()
		}()
	}
	parked.Wait()
	close(release)
	sent.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: cannot send its register: %v", ps[i].c.label, err)
		}
	}
}

func serverFull(t *harness.T) {
	limit := envOf(t).cfg.MaxUsers
	if limit == 0 {
		t.Skipf("the server's directory limit is not known: give --max-users N to let this case fill a directory of N names (REG-13)")
	}
	bound, full := racingRegistrations(t, limit)
	// Fresh names until the first server_full: the directory may hold names already, so that
	// comes after at most limit registrations that are accepted.
	for i := 0; !full; i++ {
		if i > limit {
			t.FatalMismatch("REG-13", fmt.Sprintf("error server_full for fresh username number %d at the latest: the directory holds at most %d names", limit+1, limit),
				fmt.Sprintf("%d fresh usernames registered", len(bound)))
		}
		name := Name(t, fmt.Sprintf("full%d", i))
		c := Dial(t, "fill")
		c.Hello(name)
		c.Key = Key(t, name, 0)
		id := c.ID()
		c.Send(RegisterMsg(id, c.Key, name, c.Challenge, c.Pin))
		f := c.Response("register_ack or error server_full")
		switch {
		case f.Type == "register_ack":
			bound = append(bound, name)
		case f.Type == "error" && f.Str("code") == "server_full":
			c.checkID(id, f)
			c.ExpectClose("REG-13", websocket.ClosePolicyViolation)
			full = true
		case f.Kind == KindClose || f.Kind == KindDropped:
			t.FatalMismatch("ERR-2", describe("register_ack, or error server_full before the close,", id), f.Short())
		default:
			t.FatalMismatch("REG-13", describe("register_ack or error server_full", id), f.Short())
		}
		c.Close()
	}
	t.Logf("the directory was full after %d fresh usernames", len(bound))
	// Full it stays: another fresh name is refused the same way.
	c := Dial(t, "late")
	c.Hello(Name(t, "late"))
	c.Key = Key(t, c.Name, 0)
	id := c.ID()
	c.Send(RegisterMsg(id, c.Key, c.Name, c.Challenge, c.Pin))
	c.ExpectErrorThenClose("REG-13", id, "server_full", websocket.ClosePolicyViolation)
	// A registration that adds no username is not refused: a name bound before it filled up.
	if len(bound) == 0 {
		t.Logf("the directory was full before the case bound a name: the registration of a bound name is not checked")
		return
	}
	// REG-14: the binding before the capacity. Another key for a bound name is identity_mismatch,
	// full directory or not.
	thief := Dial(t, "thief")
	thief.Hello(bound[0])
	id = thief.ID()
	thief.Send(RegisterMsg(id, Key(t, bound[0], 1), bound[0], thief.Challenge, thief.Pin))
	thief.ExpectErrorThenClose("REG-14", id, "identity_mismatch", websocket.ClosePolicyViolation)
	again := RegisterAs(t, "again", bound[0], Key(t, bound[0], 0))
	again.Alive("REG-13")
}

func helloAck(t *harness.T) {
	for _, id := range []string{"h-1", ""} {
		c := Dial(t, "alice")
		c.Send(&wire.Hello{ID: id, Protocol: "blindpost/1", User: Name(t, "alice")})
		f := c.ExpectResponse("REG-1", id, "hello_ack")
		ack, err := wire.Decode(wire.FromServer, f.Data)
		if err != nil {
			t.FatalMismatch("REG-1", "a valid hello_ack", f.Short())
		}
		if ch := ack.(*wire.HelloAck).Challenge; len(ch) != 32 || bytes.Equal(ch, make([]byte, 32)) {
			t.Mismatch("REG-1", "a random 32-byte challenge", fmt.Sprintf("%x", ch))
		}
		c.Close()
	}
}

func challengeFresh(t *harness.T) {
	seen := map[string]string{}
	for i := range 6 {
		c := Dial(t, fmt.Sprintf("alice%d", i))
		c.Hello(Name(t, "alice"))
		k := string(c.Challenge)
		if prev, dup := seen[k]; dup {
			t.Mismatch("REG-1", "a fresh challenge on every connection", fmt.Sprintf("%s got the challenge of %s: %x", c.label, prev, c.Challenge))
		}
		seen[k] = c.label
		c.Close()
	}
}

func registerAck(t *harness.T) {
	c := Register(t, "alice")
	c.Alive("REG-3")
}

// A registerMutation spoils a valid register message of name on connection c.
type registerMutation func(t *harness.T, c *Client, m *wire.Register)

func corruptProof(_ *harness.T, _ *Client, m *wire.Register) { m.Proof[5] ^= 0x40 }

func proofOtherPin(t *harness.T, c *Client, m *wire.Register) {
	*m = *RegisterMsg(m.ID, c.Key, c.Name, c.Challenge, Random(t, 32))
}

// proofSNotReduced adds L, the order of the Ed25519 base point, to the S of the proof: a
// verifier that does not require S below L accepts it (spec §8 VEC-3).
func proofSNotReduced(_ *harness.T, _ *Client, m *wire.Register) {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := slices.Clone(m.Proof[32:])
	slices.Reverse(s)
	sum := new(big.Int).Add(new(big.Int).SetBytes(s), l).FillBytes(make([]byte, 32))
	slices.Reverse(sum)
	m.Proof = append(slices.Clone(m.Proof[:32]), sum...)
}

func proofOtherUser(t *harness.T, c *Client, m *wire.Register) {
	other := RegisterMsg(m.ID, c.Key, Name(t, "mallory"), c.Challenge, c.Pin)
	m.Proof = other.Proof
}

// badRegister sends a spoiled register after a valid hello and expects bad_proof, then 1008.
func badRegister(t *harness.T, rule string, spoil registerMutation) {
	c := Dial(t, "alice")
	c.Hello(Name(t, "alice"))
	c.Key = Key(t, c.Name, 0)
	id := c.ID()
	m := RegisterMsg(id, c.Key, c.Name, c.Challenge, c.Pin)
	spoil(t, c, m)
	c.Send(m)
	c.ExpectErrorThenClose(rule, id, "bad_proof", websocket.ClosePolicyViolation)
}

func badGroupKeySig(t *harness.T) {
	other := Key(t, Name(t, "alice"), 1)
	for _, spoil := range []registerMutation{
		func(_ *harness.T, c *Client, m *wire.Register) { m.GroupKeySig = other.GroupKeySig(c.Name) }, // another identity
		func(t *harness.T, c *Client, m *wire.Register) { m.GroupKeySig = c.Key.GroupKeySig(Name(t, "bob")) },
		func(_ *harness.T, c *Client, m *wire.Register) {
			// another group key under a valid proof: the signature covers the old one.
			gk, _ := GroupKeyWithSig(t, c.Key, c.Name)
			*m = *RegisterMsg(m.ID, c.Key, c.Name, c.Challenge, c.Pin)
			m.GroupKey = gk
			proof := c.Key.Sign(registerInput(c.Challenge, c.Pin, c.Name, c.Key.Public(), gk))
			m.Proof = proof
		},
	} {
		badRegister(t, "REG-4", spoil)
	}
}

// registerInput is the signed input of the registration proof (spec §5.2), for proofs over a
// group key the identity does not derive.
func registerInput(challenge, pin []byte, user string, ik, gk []byte) []byte {
	m := []byte("blindpost/1 register")
	for _, f := range [][]byte{challenge, pin, []byte(user), ik, gk} {
		m = append(m, encBytes(f)...)
	}
	return m
}

func proofReplayed(t *harness.T) {
	first := Register(t, "alice")
	first.Close()
	replay := RegisterMsg("", first.Key, first.Name, first.Challenge, first.Pin)
	c := Dial(t, "alice")
	c.Hello(first.Name)
	if bytes.Equal(c.Challenge, first.Challenge) {
		t.Mismatch("REG-1", "a fresh challenge", "the challenge of the previous connection again")
	}
	replay.ID = c.ID()
	c.Send(replay)
	c.ExpectErrorThenClose("REG-2", replay.ID, "bad_proof", websocket.ClosePolicyViolation)
}

func registerFirst(t *harness.T) {
	c := Dial(t, "alice")
	key := Key(t, Name(t, "alice"), 0)
	id := c.ID()
	c.Send(RegisterMsg(id, key, Name(t, "alice"), Random(t, 32), c.Pin))
	c.ExpectErrorThenClose("REG-8", id, "out_of_order", websocket.ClosePolicyViolation)
}

func secondHello(t *harness.T) {
	c := Dial(t, "alice")
	c.Hello(Name(t, "alice"))
	id := c.ID()
	c.Send(&wire.Hello{ID: id, Protocol: "blindpost/1", User: Name(t, "alice")})
	c.ExpectErrorThenClose("REG-8", id, "out_of_order", websocket.ClosePolicyViolation)
}

// requestsTo returns a valid request of every type that is not hello or register, addressed to
// user and group.
func requestsTo(t *harness.T, user, group string) []wire.Message {
	sid := Session(t)
	return []wire.Message{
		&wire.GetPubkey{User: user},
		&wire.ListUsers{},
		&wire.ChatRequest{To: user, Session: sid},
		&wire.ChatResponse{To: user, Session: sid, Accepted: true},
		&wire.ChatTerminate{To: user, Session: sid},
		&wire.Relay{To: user, Session: sid, Payload: msgPayload(t, 0, 32)},
		&wire.GroupJoin{Group: group},
		&wire.GroupLeave{Group: group},
		&wire.GroupCommit{Commit: testCommit(t, group, 1, user, nil)},
		&wire.GroupMessage{Message: wire.GroupMsg{Group: group, Epoch: 1, N: 0, Ct: Random(t, 32), Sig: Random(t, 64)}},
	}
}

// withID sets the id of a request built by requestsTo. Every generated request has an ID field
// (wiregen requires an id member of every request; wire.Request reads it), so no list of types
// is kept here.
func withID(m wire.Message, id string) wire.Message {
	reflect.ValueOf(m).Elem().FieldByName("ID").SetString(id)
	return m
}

func requestBeforeRegistration(t *harness.T) {
	watcher := Register(t, "watcher")
	group := GroupName(t, "g")
	for i, m := range requestsTo(t, watcher.Name, group) {
		for _, afterHello := range []bool{false, true} {
			if afterHello && i%3 != 0 {
				continue // a sample of the types after hello
			}
			c := Dial(t, "early")
			if afterHello {
				c.Hello(Name(t, "early"))
			}
			id := c.ID()
			c.Send(withID(m, id))
			c.ExpectErrorThenClose("REG-8", id, "out_of_order", websocket.ClosePolicyViolation)
		}
	}
	watcher.Quiet("SRV-1", "the server forwarded a message from an unregistered connection")
}

func badMessageBefore(t *harness.T) {
	for _, raw := range []string{
		`{"type":"hello","id":"b1","protocol":"blindpost/2","user":"alice"}`,
		`{"type":"hello","id":"b2","protocol":"blindpost/1","user":"Alice"}`,
		`{"type":"hello","id":"b3","protocol":"blindpost/1","user":"alice","from":"bob"}`,
		`{"type":"hello","id":"b4","protocol":"blindpost/1"}`,
		`["hello"]`,
	} {
		c := Dial(t, "alice")
		c.SendRaw([]byte(raw))
		c.ExpectRefusal("REG-10", []byte(raw), "bad_message", websocket.ClosePolicyViolation)
	}
}

func registrationDeadline(t *harness.T) {
	cfg := envOf(t).cfg
	silent := Dial(t, "silent")
	hello := Dial(t, "hello-only")
	hello.Send(&wire.Hello{ID: hello.ID(), Protocol: "blindpost/1", User: Name(t, "hello-only")})
	start := time.Now()
	limit := cfg.RegisterTimeout + cfg.Slack
	for _, c := range []*Client{silent, hello} {
		f := awaitDeadlineClose(t, c, start, limit)
		t.Logf("%s closed after %s: %s", c.label, time.Since(start).Round(time.Millisecond), f.Short())
		if f.Kind != KindClose || f.Code != websocket.ClosePolicyViolation || !strings.Contains(strings.ToLower(f.Text), "registration timeout") {
			t.Mismatch("WS-9", `close 1008 with the reason "registration timeout"`, f.Short())
		}
	}
}

// awaitDeadlineClose reads c until it ends, within limit of start; only hello_ack may come
// before the close (WS-9: no error precedes it).
func awaitDeadlineClose(t *harness.T, c *Client, start time.Time, limit time.Duration) Frame {
	cfg := envOf(t).cfg
	for {
		f, ok := c.NextWithin("close 1008 at the registration deadline", time.Until(start.Add(limit)))
		switch {
		case !ok:
			t.FatalMismatch("WS-9", fmt.Sprintf("close 1008 on %s within %s of the upgrade (the announced register_timeout_ms, %s, plus --slack)", c.label, limit, cfg.RegisterTimeout),
				fmt.Sprintf("the connection was still open after %s", time.Since(start).Round(time.Millisecond)))
		case f.Kind != KindText:
			return f
		case f.Type == "hello_ack":
		default:
			t.MismatchMsg("WS-9", "nothing but hello_ack before the close at the registration deadline", f.Short(), "no error precedes the close of WS-9")
		}
	}
}

func identityMismatch(t *harness.T) {
	owner := Register(t, "alice")
	owner.CloseAndWait()
	c := Dial(t, "alice")
	c.Hello(owner.Name)
	other := Key(t, owner.Name, 1)
	id := c.ID()
	c.Send(RegisterMsg(id, other, owner.Name, c.Challenge, c.Pin))
	c.ExpectErrorThenClose("REG-6", id, "identity_mismatch", websocket.ClosePolicyViolation)
	viewer := Register(t, "viewer")
	id = viewer.ID()
	viewer.Send(&wire.GetPubkey{ID: id, User: owner.Name})
	f := viewer.ExpectResponse("SRV-3", id, "pubkey")
	if f.Str("identity_key") != b64(owner.Key.Public()) {
		t.Mismatch("REG-5", "the first identity key stays bound: "+b64(owner.Key.Public()), f.Short())
	}
}

func checkOrder(t *harness.T) {
	owner := Register(t, "alice")
	other := Key(t, owner.Name, 1)
	// A proof for another pin: the signature is genuine, but not over this server.
	c := Dial(t, "alice")
	c.Hello(owner.Name)
	id := c.ID()
	c.Send(RegisterMsg(id, other, owner.Name, c.Challenge, Random(t, 32)))
	c.ExpectErrorThenClose("REG-14", id, "bad_proof", websocket.ClosePolicyViolation)
	// A group key signature by the bound key, which does not verify with the key offered.
	c = Dial(t, "alice")
	c.Hello(owner.Name)
	id = c.ID()
	reg := RegisterMsg(id, other, owner.Name, c.Challenge, c.Pin)
	reg.GroupKeySig = RegisterMsg(id, owner.Key, owner.Name, c.Challenge, c.Pin).GroupKeySig
	c.Send(reg)
	c.ExpectErrorThenClose("REG-14", id, "bad_proof", websocket.ClosePolicyViolation)
	owner.Alive("REG-14")
}

func replaced(t *harness.T) {
	old := Register(t, "alice")
	bob := Register(t, "bob")
	g := NewGroup(t, "g")
	g.Join("GSV-1", old)
	if old.Limits.MaxGroupMembers >= 2 {
		g.Join("GSV-1", bob)
	} else {
		t.Logf("max_group_members 1: nobody remains to be told that %s left", old.label)
	}
	fresh := RegisterAs(t, "alice", old.Name, old.Key)
	old.ExpectClose("REG-7", 4001)
	g.Left("GSV-3", old)
	fresh.Alive("REG-7")
	id := bob.ID()
	bob.Send(&wire.ListUsers{ID: id})
	f := bob.ExpectResponse("SRV-4", id, "user_list")
	if n := countName(f, old.Name); n != 1 {
		t.Mismatch("REG-7", fmt.Sprintf("%s listed once after the replacement", old.Name), f.Short())
	}
}

func outOfOrderAfter(t *harness.T) {
	c := Register(t, "alice")
	id := c.ID()
	c.Send(&wire.Hello{ID: id, Protocol: "blindpost/1", User: c.Name})
	c.ExpectError("REG-9", id, "out_of_order", "hello")
	c.Alive("REG-9")
	id = c.ID()
	c.Send(RegisterMsg(id, c.Key, c.Name, Random(t, 32), c.Pin))
	c.ExpectError("REG-9", id, "out_of_order", "register")
	c.Alive("REG-9")
}

// maskedTextFrame frames data as one masked text frame, as a client sends it (RFC 6455 §5.2),
// for a case that writes its frames beneath the WebSocket library.
func maskedTextFrame(data []byte) []byte {
	key := [4]byte{0x5b, 0x1d, 0xe2, 0x97}
	f := []byte{0x81}
	switch n := len(data); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, key[:]...)
	for i, b := range data {
		f = append(f, b^key[i%4])
	}
	return f
}
