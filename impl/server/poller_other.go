//go:build !linux

package server

import "errors"

// poller is Linux-only (poller_linux.go); elsewhere connections never park.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("server: no poller on this system") }

func (p *poller) add(int, *conn) error { return errors.New("server: no poller") }
func (p *poller) remove(int, *conn)    {}
func (p *poller) close()               {}
