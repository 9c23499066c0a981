package scenario

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/blindpost/blindpost/impl/bench/load"
	"github.com/blindpost/blindpost/impl/bench/sysstat"
	"github.com/blindpost/blindpost/impl/bench/target"
	"github.com/blindpost/blindpost/impl/client/tlstrust"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// A spread idle run (RunIdleSpread) holds its connections in child load processes, because one
// process holds at most RLIMIT_NOFILE descriptors. Parent and child speak JSON lines: the parent
// writes one LoadJob on the child's standard input and keeps it open; the child opens its
// connections, writing a LoadReport with Stage "opening" every second meanwhile and one with
// Stage "open" once it has, holds them until its standard input ends (the parent closes it),
// then writes a LoadReport with Stage "final" and exits.

// LoadJob is what one child load process does.
type LoadJob struct {
	URLs   []string `json:"urls"`
	Pins   []string `json:"pins"`         // the pin of each URL, sha256:…; "" to trust CAFile or the system roots
	CAFile string   `json:"ca,omitempty"` // a PEM file of CA certificates, for the URLs without a pin
	// First is the run-wide index of the child's first connection: connection g (run-wide)
	// goes to URLs[g mod len(URLs)] and registers the username PREFIXiG.
	First    int    `json:"first"`
	Conns    int    `json:"conns"`
	Prefix   string `json:"prefix"`
	Sources  int    `json:"sources,omitempty"` // on loopback: dial from 127.0.0.1 … 127.0.0.N
	Parallel int    `json:"parallel,omitempty"`
}

// LoadReport is what a child load process reports.
type LoadReport struct {
	Stage      string `json:"stage"`   // "opening": progress; "open": all opened (or the opening stopped); "final": after the hold
	Held       int    `json:"held"`    // connections open, registered and not ended
	PerURL     []int  `json:"per_url"` // of Held, by URL
	Errors     uint64 `json:"errors"`  // connections that failed to open or ended unasked
	FirstError string `json:"first_error,omitempty"`
	Retried    int64  `json:"registrations_retried"` // tries after a registration answered internal
	RSS        int64  `json:"rss_bytes"`             // the child's own resident memory
}

// Load report stages.
const (
	StageOpening = "opening" // only Held and Errors are set
	StageOpen    = "open"
	StageFinal   = "final"
)

// dialers builds one dialer per URL of the job.
func (j LoadJob) dialers() ([]*load.Dialer, error) {
	if len(j.URLs) == 0 || len(j.Pins) != len(j.URLs) {
		return nil, fmt.Errorf("scenario: a load job needs URLs and one pin entry for each (got %d and %d)", len(j.URLs), len(j.Pins))
	}
	var roots *load.Trust
	out := make([]*load.Dialer, len(j.URLs))
	for i, u := range j.URLs {
		trust := load.Trust{}
		switch {
		case j.Pins[i] != "":
			pin, err := tlspin.ParseLenient(j.Pins[i])
			if err != nil {
				return nil, fmt.Errorf("scenario: the pin of %s: %w", u, err)
			}
			trust.Pin = &pin
		case j.CAFile != "":
			if roots == nil {
				pool, err := tlstrust.LoadCAFile(j.CAFile)
				if err != nil {
					return nil, fmt.Errorf("scenario: %w", err)
				}
				roots = &load.Trust{Roots: pool}
			}
			trust = *roots
		}
		d := &load.Dialer{URL: u, Trust: trust}
		if j.Sources > 0 && load.IsLoopback(u) {
			d.Sources = load.LoopbackSources(j.Sources)
		}
		out[i] = d
	}
	return out, nil
}

// RunLoadChild is a child load process: it reads its LoadJob from in, opens and holds the
// connections, and reports on out, as the comment above LoadJob says.
func RunLoadChild(ctx context.Context, in io.Reader, out io.Writer) error {
	br := bufio.NewReader(in)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("scenario: reading the load job: %w", err)
	}
	var job LoadJob
	if err := json.Unmarshal(line, &job); err != nil {
		return fmt.Errorf("scenario: the load job: %w", err)
	}
	dialers, err := job.dialers()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	h := &holder{sys: &target.System{Kind: target.Blindpost}, conns: make([]*load.Conn, job.Conns)}
	urlOf := make([]int, job.Conns)
	var readers sync.WaitGroup
	par := job.Parallel
	if par <= 0 {
		par = 64
	}
	var encMu sync.Mutex
	stopTicker := ticker(ctx, func(time.Duration) {
		encMu.Lock()
		defer encMu.Unlock()
		_ = enc.Encode(LoadReport{Stage: StageOpening, Held: int(h.open.Load()), Errors: h.errs.n.Load()})
	})
	// A connection that fails to open is counted and the others go on: the parent reports
	// the errors, whatever their number.
	_ = forEach(ctx, job.Conns, par, func(ctx context.Context, i int) error {
		g := job.First + i
		urlOf[i] = g % len(dialers)
		c, err := h.dial(ctx, dialers[urlOf[i]], fmt.Sprintf("%si%d", job.Prefix, g))
		if err != nil {
			h.errs.add("connection %d (%s): %v", g, job.URLs[urlOf[i]], err)
			return nil
		}
		h.conns[i] = c
		h.open.Add(1)
		readers.Go(func() { h.read(c) })
		return nil
	})
	stopTicker()
	if err := enc.Encode(h.report(StageOpen, urlOf, len(dialers))); err != nil {
		return fmt.Errorf("scenario: reporting: %w", err)
	}
	// Hold until the parent closes standard input (or this process is interrupted).
	held := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, br)
		close(held)
	}()
	select {
	case <-held:
	case <-ctx.Done():
	}
	rep := h.report(StageFinal, urlOf, len(dialers))
	h.stopping.Store(true)
	closeAll(h.conns)
	readers.Wait()
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("scenario: reporting: %w", err)
	}
	if ctx.Err() != nil {
		return errors.New("scenario: the load process was interrupted")
	}
	return nil
}

// report counts the connections held now, by URL, and the errors so far.
func (h *holder) report(stage string, urlOf []int, urls int) LoadReport {
	r := LoadReport{Stage: stage, PerURL: make([]int, urls)}
	for i, c := range h.conns {
		if c != nil && !h.ended(c) {
			r.Held++
			r.PerURL[urlOf[i]]++
		}
	}
	r.Errors, r.FirstError = h.errs.get()
	r.Retried = h.retried.Load()
	if self, err := sysstat.Read(os.Getpid()); err == nil {
		r.RSS = self.RSS
	}
	return r
}
