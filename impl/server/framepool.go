package server

import (
	"math/bits"
	"sync"
)

// The relay's fast path (fastpath.go) builds two frames per relayed message, the forwarded
// relay and its ack. They come from a pool and go back once written, so that relaying a
// message allocates nothing. A pooled frame is marked as such where it is queued (queue.go:
// pooledFrame in owners), because the queues also hold frames that must not be reused: a group
// message is one frame queued for every member.

// framePool holds free frame buffers by size class: class k holds buffers of capacity
// minPooled<<k, in a sync.Pool as a pointer to an array of that size, so that neither taking
// nor giving back a buffer allocates (a slice in an interface would be boxed).
type framePool struct {
	classes [poolClasses]sync.Pool
}

const (
	minPooled   = 64 // the smallest class: an ack
	poolClasses = 11 // up to 64 KiB
)

// relayFrames is the relay's pool of frame buffers.
var relayFrames = newFramePool()

func newFramePool() *framePool { return &framePool{} }

// arrays convert a buffer of each class to the array pointer the pool keeps, and back.
var arrays = [poolClasses]struct {
	in  func([]byte) any
	out func(any) []byte
}{
	{func(b []byte) any { return (*[64 << 0]byte)(b) }, func(x any) []byte { return x.(*[64 << 0]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 1]byte)(b) }, func(x any) []byte { return x.(*[64 << 1]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 2]byte)(b) }, func(x any) []byte { return x.(*[64 << 2]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 3]byte)(b) }, func(x any) []byte { return x.(*[64 << 3]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 4]byte)(b) }, func(x any) []byte { return x.(*[64 << 4]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 5]byte)(b) }, func(x any) []byte { return x.(*[64 << 5]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 6]byte)(b) }, func(x any) []byte { return x.(*[64 << 6]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 7]byte)(b) }, func(x any) []byte { return x.(*[64 << 7]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 8]byte)(b) }, func(x any) []byte { return x.(*[64 << 8]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 9]byte)(b) }, func(x any) []byte { return x.(*[64 << 9]byte)[:0] }},
	{func(b []byte) any { return (*[64 << 10]byte)(b) }, func(x any) []byte { return x.(*[64 << 10]byte)[:0] }},
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
	if x := p.classes[k].Get(); x != nil {
		return arrays[k].out(x)
	}
	return make([]byte, 0, minPooled<<k)
}

// put gives b back once nothing refers to it any more. A buffer that get did not make (its
// capacity is not a class's) is left to the garbage collector.
func (p *framePool) put(b []byte) {
	k := class(cap(b))
	if k >= poolClasses || cap(b) != minPooled<<k {
		return
	}
	p.classes[k].Put(arrays[k].in(b[:cap(b)]))
}
