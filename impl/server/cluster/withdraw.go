package cluster

import (
	"context"
	"sync"
	"time"
)

// A release the presence bucket does not take in time (a mass disconnect sends thousands of
// deletes at once: 78,000 of 100,000 timed out when make scale's load processes closed their
// connections together) would leave the user listed online on every node (spec §5.4 [SRV-4])
// until the name is claimed again. Such a release is kept and sent again in the background, one
// at a time, until the bucket takes it or the node closes. It deletes only the claim it was
// for (the entry's revision), so a later connection of the same user, on this node or another,
// is never withdrawn by it.

const (
	withdrawAttempt  = 5 * time.Second        // one delete
	withdrawPause    = 500 * time.Millisecond // before the first retry of a round that failed
	maxWithdrawPause = 30 * time.Second
)

// withdrawals holds the releases to send again.
type withdrawals struct {
	mu      sync.Mutex
	pending []claim
	running bool
	closed  bool // the node closed: nothing more is kept, and no worker starts
	wg      sync.WaitGroup
}

// claim is one presence entry of a user, by its revision.
type claim struct {
	user string
	rev  uint64
}

// withdrawLater keeps the release of user's claim rev for the retry worker, and starts the
// worker unless it runs; a closed node keeps nothing.
func (n *Node) withdrawLater(user string, rev uint64) {
	w := &n.withdraw
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.pending = append(w.pending, claim{user, rev})
	if !w.running {
		w.running = true
		w.wg.Go(n.withdrawPending)
	}
}

// withdrawPending sends the kept releases again, pausing longer after each round that left
// some, until none is left or the node closes.
func (n *Node) withdrawPending() {
	pause := withdrawPause
	for {
		w := &n.withdraw
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		if len(batch) == 0 || n.life.Err() != nil {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		failed := n.withdrawAll(batch)
		if len(failed) == 0 {
			pause = withdrawPause
			continue
		}
		w.mu.Lock()
		w.pending = append(failed, w.pending...)
		w.mu.Unlock()
		n.log.Warn("cluster: releases not taken yet; trying again", "users", len(failed), "in", pause)
		select {
		case <-n.life.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, maxWithdrawPause)
	}
}

// withdrawAll sends the releases of batch once each, in order, and stops at the first the bucket
// does not take (it is still too busy): it returns that one and those after it.
func (n *Node) withdrawAll(batch []claim) []claim {
	for i, c := range batch {
		ctx, cancel := context.WithTimeout(n.life, withdrawAttempt)
		err := n.release(ctx, c.user, c.rev)
		cancel()
		if err != nil {
			return batch[i:]
		}
	}
	return nil
}

// stopWithdrawing waits for the worker, once the node's life has ended, and keeps nothing more.
func (n *Node) stopWithdrawing() {
	n.withdraw.mu.Lock()
	n.withdraw.closed = true
	n.withdraw.mu.Unlock()
	n.withdraw.wg.Wait()
}
