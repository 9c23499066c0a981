//go:build linux && !blindpost_noepoll

package server

import (
	"fmt"
	"sync"
	"syscall"
)

// poller watches the sockets of parked connections (park.go) with an epoll set of its own,
// and wakes a connection when its socket becomes readable or closes. The Go runtime's poller
// watches the same sockets edge-triggered; two epoll sets may watch one descriptor.
//
// A socket's descriptor is used only inside its RawConn's Control callback, which keeps it
// open meanwhile: that is where it is added to and removed from the set. The events carry the
// connection's id, never a descriptor. A socket closed while watched leaves the set by itself
// (epoll(7): a closed file is removed from every set).
type poller struct {
	epfd  int    // the epoll set, the poller's own
	pipe  [2]int // written to by close, to end run
	mu    sync.Mutex
	conns map[uint64]*conn // the watched connections, by id
	done  chan struct{}
}

// pipeKey is the key of the pipe's event; connection ids start at 1.
const pipeKey = 0

// newPoller creates the epoll set and starts watching.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	p := &poller{epfd: epfd, conns: map[uint64]*conn{}, done: make(chan struct{})}
	if err := syscall.Pipe2(p.pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	ev := epollEvent(syscall.EPOLLIN, pipeKey)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.pipe[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	go p.run()
	return p, nil
}

// epollEvent is an event for events whose data is key.
func epollEvent(events uint32, key uint64) syscall.EpollEvent {
	return syscall.EpollEvent{Events: events, Fd: int32(uint32(key)), Pad: int32(uint32(key >> 32))}
}

// keyOf returns the key of an event.
func keyOf(ev *syscall.EpollEvent) uint64 { return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32 }

// add watches c's socket, once: the first event disarms it (EPOLLONESHOT).
func (p *poller) add(c *conn) error {
	p.mu.Lock()
	p.conns[c.id] = c
	p.mu.Unlock()
	ev := epollEvent(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLONESHOT, c.id)
	err := c.cork.raw.control(func(fd int) error {
		return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev)
	})
	if err != nil {
		p.mu.Lock()
		delete(p.conns, c.id)
		p.mu.Unlock()
		return fmt.Errorf("server: epoll add: %w", err)
	}
	return nil
}

// remove stops watching c's socket. A closed socket has left the set already.
func (p *poller) remove(c *conn) {
	_ = c.cork.raw.control(func(fd int) error {
		return syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	})
	p.mu.Lock()
	delete(p.conns, c.id)
	p.mu.Unlock()
}

// run waits for events and wakes their connections, until close.
func (p *poller) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for i := range events[:n] {
			key := keyOf(&events[i])
			if key == pipeKey {
				return
			}
			p.mu.Lock()
			c := p.conns[key]
			p.mu.Unlock()
			if c != nil {
				c.wake()
			}
		}
	}
}

// close stops run and releases the epoll set. Parked connections must have been woken.
func (p *poller) close() {
	_, _ = syscall.Write(p.pipe[1], []byte{0})
	<-p.done
	p.closeFDs()
}

func (p *poller) closeFDs() {
	syscall.Close(p.epfd)
	syscall.Close(p.pipe[0])
	syscall.Close(p.pipe[1])
}
