package serversuite

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
)

// maxConnsTried is how many idle TCP connections abuse/connections-from-accept opens before it
// concludes that the server bounds neither all connections nor those of one address (ABU-1,
// ABU-3); maxJoinsTried, how many group joins abuse/joins-per-address tries (ABU-4).
const (
	maxConnsTried = 2048
	maxJoinsTried = 4096
)

func init() {
	add(harness.Case{ID: "abuse/handshake-deadline", Rules: []string{"ABU-2"},
		Description: "a TCP connection that sends nothing, and one that completes TLS but sends its upgrade request a line at a time, are closed within --handshake-timeout",
		Run:         handshakeDeadline})
	add(harness.Case{ID: "abuse/connections-from-accept", Rules: []string{"ABU-1", "ABU-3"}, Exclusive: true,
		Description: fmt.Sprintf("idle TCP connections that never start TLS count: within %d of them from one address, the server closes a new one at once; once they are closed, a client connects again", maxConnsTried),
		Run:         connectionsFromAccept})
	add(harness.Case{ID: "abuse/joins-per-address", Rules: []string{"ABU-4", "ERR-1"}, Exclusive: true,
		Description: fmt.Sprintf("connections from one address joining fresh groups (never beyond max_groups each) get limit_exceeded within %d joins", maxJoinsTried),
		Run:         joinsPerAddress})
	add(harness.Case{ID: "abuse/frame-budget", Rules: []string{"ABU-5", "WS-10"}, Exclusive: true,
		Description: "a registered connection sending a thousand empty pings a second, and one sending a message made of endless empty continuation frames, are closed with 4003; a connection flooding pings before registering is closed with 1008; another pair keeps relaying",
		Run:         frameBudget})
}

// rawConn opens a TCP connection to the server that sends nothing.
func rawConn(t *harness.T) (net.Conn, *target) {
	env := envOf(t)
	tg := env.next(t)
	d := net.Dialer{Timeout: env.cfg.Wait}
	c, err := d.DialContext(t.Context(), "tcp", tg.hostPort())
	if err != nil {
		t.Fatalf("dial %s: %v", tg.hostPort(), err)
	}
	return c, tg
}

// closedBy reports whether the server ends c (end of stream or reset) before deadline. A
// deadline already past when the check begins (the client itself was slow, e.g. on a loaded
// machine) still lets the read see an end that has arrived: a read with a past deadline fails at
// once, without looking at what is buffered.
func closedBy(c net.Conn, deadline time.Time) bool {
	if least := time.Now().Add(closedGrace); deadline.Before(least) {
		deadline = least
	}
	c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// closedGrace is how long closedBy reads at least: enough for an end of stream already
// received to be read, far below any deadline the cases check.
const closedGrace = 100 * time.Millisecond

func handshakeDeadline(t *harness.T) {
	cfg := envOf(t).cfg
	within := cfg.HandshakeTimeout + cfg.Slack
	silent, _ := rawConn(t)
	defer silent.Close()
	start := time.Now()
	if !closedBy(silent, start.Add(within)) {
		t.FatalMismatch("ABU-2", fmt.Sprintf("a silent TCP connection closed within %s", within), "still open")
	}
	t.Logf("a silent TCP connection was closed after %s", time.Since(start).Round(time.Millisecond))

	raw, tg := rawConn(t)
	slow := tls.Client(raw, tg.tls.Clone())
	defer slow.Close()
	start = time.Now()
	if err := slow.HandshakeContext(t.Context()); err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	lines := []string{"GET / HTTP/1.1\r\n", "Host: " + tg.url.Host + "\r\n", "Upgrade: websocket\r\n", "Connection: Upgrade\r\n"}
	for _, line := range lines {
		if _, err := slow.Write([]byte(line)); err != nil {
			break // closed already
		}
		timer := time.NewTimer(cfg.HandshakeTimeout / 3) // the client's own slowness
		select {
		case <-timer.C:
		case <-t.Context().Done():
			timer.Stop()
			return
		}
	}
	if !closedBy(raw, start.Add(within)) {
		t.Mismatch("ABU-2", fmt.Sprintf("an upgrade request sent slowly closed within %s of the connection", within), "still open")
	}
}

func connectionsFromAccept(t *harness.T) {
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	// A connection refused at the bound is closed at once; an admitted one stays open until the
	// handshake deadline (ABU-2) closes it. So the connections are opened back to back, without
	// waiting (the idle ones must be open together, within the handshake deadline), and each
	// one's watcher reports a close within half the deadline of its dial: a refusal, not the
	// deadline.
	atOnce := envOf(t).cfg.HandshakeTimeout / 2
	refused := make(chan int, maxConnsTried)
	found := -1
	for found < 0 && len(open) < maxConnsTried {
		c, _ := rawConn(t)
		open = append(open, c)
		n, dialed := len(open), time.Now()
		go func() {
			if closedBy(c, dialed.Add(atOnce)) && time.Since(dialed) < atOnce {
				refused <- n
			}
		}()
		select {
		case found = <-refused:
		default:
		}
	}
	if found < 0 {
		timer := time.NewTimer(atOnce)
		select {
		case found = <-refused:
		case <-timer.C:
		}
		timer.Stop()
	}
	if found < 0 {
		t.FatalMismatch("ABU-1", fmt.Sprintf("a new TCP connection closed at once while %d idle ones from this address are open", maxConnsTried), "every one stayed open")
	}
	t.Logf("with %d idle TCP connections open, a new one was closed at once", found-1)
	for _, c := range open {
		c.Close()
	}
	open = nil
	Eventually(t, "ABU-1", "a client connects once the idle connections are closed", func() (bool, string) {
		c, resp, err := DialWith(t, "after", DialOptions{})
		if err != nil {
			return false, err.Error() + statusText(resp)
		}
		c.Close()
		return true, ""
	})
}

func joinsPerAddress(t *harness.T) {
	var conns []*Client
	joins := 0
	for joins < maxJoinsTried {
		c := Register(t, fmt.Sprintf("joiner%d", len(conns)))
		conns = append(conns, c)
		for range int(c.Limits.MaxGroups) {
			id := c.ID()
			c.Send(&wire.GroupJoin{ID: id, Group: GroupName(t, fmt.Sprintf("fresh%d", joins))})
			f := c.Response("the answer to group_join " + id)
			switch {
			case f.Type == "error" && f.Str("code") == "limit_exceeded":
				t.Logf("limit_exceeded after %d joins of fresh groups from %d connections", joins, len(conns))
				for _, o := range conns {
					o.Close()
				}
				return
			case f.Type != "ack":
				t.FatalMismatch("ABU-4", "ack, or limit_exceeded once the address holds too many memberships", f.Short())
			}
			c.Expect("GSV-1", "group_members")
			joins++
		}
	}
	t.Mismatch("ABU-4", fmt.Sprintf("limit_exceeded within %d joins from one address", maxJoinsTried), fmt.Sprintf("%d joins accepted", joins))
}

// expectBudgetClose reads c until it ends, which must be close code.
func expectBudgetClose(t *harness.T, c *Client, code int, what string) {
	for {
		f := c.Next("close " + fmt.Sprint(code) + " for " + what)
		if f.Kind == KindText {
			continue
		}
		if f.Kind != KindClose || f.Code != code {
			t.FatalMismatch("ABU-5", fmt.Sprintf("close %d for %s", code, what), f.Short())
		}
		return
	}
}

func frameBudget(t *harness.T) {
	probe := NewProbe(t)
	probe.Check("before the floods")
	// Empty pings, a thousand a second: a few kilobytes a second, far within any byte budget,
	// and twenty times the announced rate (LIM-3), which pings count towards.
	registered := Register(t, "pinger")
	go func() {
		tick := time.NewTicker(time.Millisecond) // the flood's pace, not a synchronisation
		defer tick.Stop()
		for registered.writeControl(nil) == nil {
			select {
			case <-tick.C:
			case <-t.Context().Done():
				return
			}
		}
	}()
	expectBudgetClose(t, registered, 4003, "a registered connection sending a thousand empty pings a second")
	early := Dial(t, "early-pinger")
	go func() {
		data := bytes.Repeat([]byte("p"), 125)
		for early.writeControl(data) == nil {
		}
	}()
	expectBudgetClose(t, early, 1008, "an unregistered connection flooding pings")

	// A text message that never ends: one empty first frame, then empty continuation frames,
	// masked as a client's must be (RFC 6455 §5.3).
	endless := Register(t, "endless")
	go func() {
		if endless.writeRaw([]byte{0x01, 0x80, 1, 2, 3, 4}) != nil {
			return
		}
		empty := bytes.Repeat([]byte{0x00, 0x80, 1, 2, 3, 4}, 1024)
		for endless.writeRaw(empty) == nil {
		}
	}()
	expectBudgetClose(t, endless, 4003, "a registered connection sending endless empty continuation frames")
	probe.Check("after the floods")
}
