package serversuite

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/blindpost/blindpost/conformance/harness"
)

// A relay system may answer at several URLs, such as the nodes of a cluster, which must behave
// to every client exactly like one relay. The suite spreads the connections of every case over
// them: the n-th connection (n from 0) a case opens, WebSocket or raw TCP, goes to URL
// (h(case id) + n) mod len(URLs), where h is the first 8 bytes of SHA-256 of the case id, big
// endian. So a case with several clients puts its peers on different URLs, every case starts
// on a different URL, and replaying a case dials the same URLs in the same order (connections
// a case opens from several goroutines at once take their turns in the order they come).

// target is one URL of the system under test.
type target struct {
	url   *url.URL
	tls   *tls.Config  // the run's trust setting, with this URL's server name
	dials atomic.Int64 // connections opened to it so far
}

// hostPort returns the TCP address of the target, with the default port of wss.
func (tg *target) hostPort() string {
	if tg.url.Port() != "" {
		return tg.url.Host
	}
	return net.JoinHostPort(tg.url.Hostname(), "443")
}

// SpreadIndex returns the index among urls URLs of the n-th connection (from 0) of the case
// caseID.
func SpreadIndex(caseID string, n int64, urls int) int {
	h := sha256.Sum256([]byte(caseID))
	return int((binary.BigEndian.Uint64(h[:8]) + uint64(n)) % uint64(urls))
}

// dialCounts holds the number of connections every running case has opened so far.
var dialCounts sync.Map // *harness.T → *atomic.Int64

// next returns the target of the next connection the case opens, and counts it.
func (e *Env) next(t *harness.T) *target {
	v, loaded := dialCounts.LoadOrStore(t, new(atomic.Int64))
	if !loaded {
		t.Cleanup(func() { dialCounts.Delete(t) })
	}
	n := v.(*atomic.Int64).Add(1) - 1
	tg := e.targets[SpreadIndex(t.Case().ID, n, len(e.targets))]
	tg.dials.Add(1)
	return tg
}

// URLs returns the URLs of the system under test, in the order given.
func (e *Env) URLs() []string {
	out := make([]string, len(e.targets))
	for i, tg := range e.targets {
		out[i] = tg.url.String()
	}
	return out
}

// Targets returns the URLs of the system under test with the connections the cases have opened
// to each so far, for the report.
func (e *Env) Targets() []harness.Target {
	out := make([]harness.Target, len(e.targets))
	for i, tg := range e.targets {
		out[i] = harness.Target{URL: tg.url.String(), Connections: tg.dials.Load()}
	}
	return out
}
