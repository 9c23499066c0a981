package nodeargs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
)

// Attempts is how many times Routed starts a cluster whose reserved route port was taken.
const Attempts = 3

// Routed starts the n nodes of a cluster on this machine at once with start, each given its
// index and the route addresses of all n (host:port, its own at index i), as free picks them
// (nil: FreeAddrs), and returns them once every start has returned without error.
//
// Between free releasing a port and a node binding it, any process on the machine can take it,
// as a listener or as the local port of an outgoing connection. When a start fails, the others'
// starts are cancelled (they would wait for that node until their timeout) and every node
// started is stopped; when a node's error says its address was in use (PortTaken), the cluster
// is started again on fresh addresses, up to Attempts times in all. The error joins every
// attempt's, each with every node's.
func Routed[T any](ctx context.Context, n int, free func(n int) ([]string, error),
	start func(ctx context.Context, i int, addrs []string) (T, error), stop func(T)) ([]T, error) {
	if free == nil {
		free = FreeAddrs
	}
	var errs []error
	for attempt := 1; attempt <= Attempts; attempt++ {
		nodes, err := routedOnce(ctx, n, free, start, stop)
		if err == nil {
			return nodes, nil
		}
		errs = append(errs, fmt.Errorf("attempt %d of %d: %w", attempt, Attempts, err))
		if !PortTaken(err) || ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// routedOnce is one attempt of Routed, on fresh addresses.
func routedOnce[T any](ctx context.Context, n int, free func(n int) ([]string, error),
	start func(ctx context.Context, i int, addrs []string) (T, error), stop func(T)) ([]T, error) {
	addrs, err := free(n)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	nodes, errs := make([]T, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if nodes[i], errs[i] = start(ctx, i, addrs); errs[i] != nil {
				cancel(fmt.Errorf("node %d did not start", i+1))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, node := range nodes {
			if errs[i] == nil {
				stop(node)
			}
		}
		return nil, err
	}
	return nodes, nil
}

// PortTaken reports whether err says that a listener's address was in use. nats-server reports
// it as text, and a relay started as a process only as the last line of its standard error, so
// the text is what is matched.
func PortTaken(err error) bool {
	return err != nil && (errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use"))
}
