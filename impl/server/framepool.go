package server

import "math/bits"

// The relay's fast path (fastpath.go) builds two frames per relayed message, the forwarded
// relay and its ack. They come from a pool and go back once written, so that relaying a
// message allocates nothing. A pooled frame is marked as such where it is queued (queue.go:
// pooledFrame in owners), because the queues also hold frames that must not be reused: a group
// message is one frame queued for every member.

// framePool holds free frame buffers by size class: class k holds buffers of capacity
// minPooled<<k. It is a channel per class: taking or giving back a buffer copies a slice
// header and allocates nothing (a sync.Pool would box the slice).
type framePool struct {
	classes [poolClasses]chan []byte
}

const (
	minPooled   = 64      // the smallest class: an ack
	poolClasses = 11      // up to 64 KiB
	poolBytes   = 1 << 20 // at most this much is kept free per class
)

// relayFrames is the relay's pool of frame buffers.
var relayFrames = newFramePool()

func newFramePool() *framePool {
	p := &framePool{}
	for k := range p.classes {
		p.classes[k] = make(chan []byte, max(16, poolBytes/(minPooled<<k)))
	}
	return p
}

// class returns the size class of a buffer of capacity n: the smallest that holds n bytes.
func class(n int) int {
	if n <= minPooled {
		return 0
	}
	return bits.Len(uint(n-1)) - bits.Len(uint(minPooled-1))
}

// get returns an empty buffer with room for n bytes, from the pool when n fits a class.
func (p *framePool) get(n int) []byte {
	k := class(n)
	if k >= poolClasses {
		return make([]byte, 0, n)
	}
	select {
	case b := <-p.classes[k]:
		return b[:0]
	default:
		return make([]byte, 0, minPooled<<k)
	}
}

// put gives b back once nothing refers to it any more. A buffer that get did not make (its
// capacity is not a class's) is left to the garbage collector.
func (p *framePool) put(b []byte) {
	k := class(cap(b))
	if k >= poolClasses || cap(b) != minPooled<<k {
		return
	}
	select {
	case p.classes[k] <- b:
	default:
	}
}
