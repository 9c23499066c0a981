//go:build linux

package server

import (
	"fmt"
	"sync"
	"syscall"
)

// poller watches the sockets of parked connections (park.go) with an epoll set of its own,
// and wakes a connection when its socket becomes readable or closes. The Go runtime's poller
// watches the same sockets edge-triggered; two epoll sets may watch one descriptor.
type poller struct {
	epfd  int
	pipe  [2]int // written to by close, to end run
	mu    sync.Mutex
	conns map[int32]*conn // by socket
	done  chan struct{}
}

// newPoller creates the epoll set and starts watching.
func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	p := &poller{epfd: epfd, conns: map[int32]*conn{}, done: make(chan struct{})}
	if err := syscall.Pipe2(p.pipe[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.pipe[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.pipe[0], &ev); err != nil {
		p.closeFDs()
		return nil, fmt.Errorf("server: epoll: %w", err)
	}
	go p.run()
	return p, nil
}

// add watches fd for c, once: the first event disarms it (EPOLLONESHOT).
func (p *poller) add(fd int, c *conn) error {
	if fd < 0 {
		return fmt.Errorf("server: no socket to watch")
	}
	p.mu.Lock()
	p.conns[int32(fd)] = c
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		delete(p.conns, int32(fd))
		p.mu.Unlock()
		return fmt.Errorf("server: epoll add: %w", err)
	}
	return nil
}

// remove stops watching fd for c. The connection is still open, so fd is still c's.
func (p *poller) remove(fd int, c *conn) {
	_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	p.mu.Lock()
	if p.conns[int32(fd)] == c {
		delete(p.conns, int32(fd))
	}
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
		for _, ev := range events[:n] {
			if int(ev.Fd) == p.pipe[0] {
				return
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
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
