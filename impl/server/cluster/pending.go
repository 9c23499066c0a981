package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
)

// Requests whose answers are awaited later (RequestAsync): a relay pipelines the messages one
// client sends to users on other nodes, and answers them in order once their answers come
// (spec §5.11 [CLU-3]). One subscription of the node receives every answer, on a subject of its
// own followed by a token per request.

// Pending is a request sent and not answered yet.
type Pending struct {
	n     *Node
	token string
	node  string
	ch    chan *nats.Msg
}

// replies dispatches the answers to the requests sent with RequestAsync.
type replies struct {
	mu      sync.Mutex
	prefix  string // the subject prefix of the answers, ending with "."
	next    uint64
	waiting map[string]chan *nats.Msg
	sub     *nats.Subscription
}

// noRespondersStatus is the status NATS answers a request with when nobody listens on its
// subject (a header "Status: 503" and no data).
const (
	statusHeader       = "Status"
	noRespondersStatus = "503"
)

func (n *Node) startReplies() error {
	r := &replies{prefix: n.nc.NewInbox() + ".", waiting: make(map[string]chan *nats.Msg)}
	sub, err := n.nc.Subscribe(r.prefix+"*", func(m *nats.Msg) {
		token := m.Subject[len(r.prefix):]
		r.mu.Lock()
		ch := r.waiting[token]
		delete(r.waiting, token)
		r.mu.Unlock()
		if ch != nil {
			ch <- m // buffered: one answer per request
		}
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe to answers: %w", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	r.sub = sub
	n.replies = r
	return nil
}

// RequestAsync sends data with hdr to node and returns at once; Wait returns the answer. The
// requests one goroutine sends reach node in the order it sent them, mixed with its Publish
// and Request calls in that order too (one NATS connection, spec §5.11 [CLU-3]).
func (n *Node) RequestAsync(node string, hdr nats.Header, data []byte) (*Pending, error) {
	r := n.replies
	ch := make(chan *nats.Msg, 1)
	r.mu.Lock()
	r.next++
	token := strconv.FormatUint(r.next, 36)
	r.waiting[token] = ch
	r.mu.Unlock()
	err := n.nc.PublishMsg(&nats.Msg{Subject: n.subject(node), Reply: r.prefix + token, Header: hdr, Data: data})
	if err != nil {
		r.forget(token)
		return nil, fmt.Errorf("cluster: request to %s: %w", node, err)
	}
	return &Pending{n: n, token: token, node: node, ch: ch}, nil
}

func (r *replies) forget(token string) {
	r.mu.Lock()
	delete(r.waiting, token)
	r.mu.Unlock()
}

// Wait returns the answer to the request, ErrNodeGone when no relay listens on the node's
// subject, or an error when ctx is done first.
func (p *Pending) Wait(ctx context.Context) (*nats.Msg, error) {
	select {
	case m := <-p.ch:
		if len(m.Data) == 0 && m.Header.Get(statusHeader) == noRespondersStatus {
			return nil, fmt.Errorf("%w: %s", ErrNodeGone, p.node)
		}
		return m, nil
	case <-ctx.Done():
		p.n.replies.forget(p.token)
		return nil, fmt.Errorf("cluster: request to %s: %w", p.node, ctx.Err())
	}
}
