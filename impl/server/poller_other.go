//go:build !linux || blindpost_noepoll

package server

// poller needs Linux's epoll (poller_linux.go); elsewhere, and in builds tagged
// blindpost_noepoll, connections never park.
type poller struct{}

func newPoller() (*poller, error) { return nil, errNoPoller }

func (p *poller) add(*conn) error { return errNoPoller }
func (p *poller) remove(*conn)    {}
func (p *poller) close()          {}
