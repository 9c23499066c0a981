package mutants

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
)

// Options configure a run of mutants.
type Options struct {
	Root   string // the module root (ModuleRoot)
	Go     string // the go command; "" means "go"
	Jobs   int    // mutants in hand at once (being built, waiting or run); 0 means 1
	Builds int    // of those, compiled at once; 0 means the number of CPUs
	// BuildNice, when above 0, runs the builds at that lower scheduling priority (nice(1)), so
	// that they take only the CPU that other work leaves: the relays and suites under test, of
	// this run or of other tests beside it, are never slowed by a compile.
	BuildNice int
	Seed      uint64       // the seed of every blindpost-conform run; 0 is refused
	Baseline  bool         // first run the same cases against the unmutated reference: all must pass
	Keep      bool         // keep the work directory (binaries, mutated files) and say where it is
	Progress  func(Result) // called as each mutant finishes, one call at a time; may be nil
	Log       func(string) // progress notes (building, baseline), one call at a time; may be nil
}

// Status is what became of a mutant.
type Status string

// The statuses. Only Killed is a success.
const (
	Killed   Status = "killed"   // a case that checks the mutant's rule failed
	Survived Status = "survived" // every case passed: the suites miss this bug
	OffRule  Status = "off-rule" // only cases that do not check the mutant's rule failed
	Broken   Status = "error"    // the mutant did not apply or build, or the suite could not run
)

// Killer is a case that failed against a mutant.
type Killer struct {
	Case       string   `json:"case"`
	Rules      []string `json:"rules"`
	ChecksRule bool     `json:"checks_rule"` // the case claims the mutant's rule, or a failure names it
	Failure    string   `json:"failure"`     // its first failure of the mutant's rule, or its first failure
}

// Result is the outcome of one mutant.
type Result struct {
	Mutant  *Mutant       `json:"mutant"`
	Status  Status        `json:"status"`
	Killers []Killer      `json:"killers,omitempty"` // those that check the rule first
	Cases   int           `json:"cases"`             // cases run against the mutant
	Error   string        `json:"error,omitempty"`
	Build   time.Duration `json:"build_ns"`
	Suite   time.Duration `json:"suite_ns"`
	Repro   string        `json:"repro"` // the command that runs this mutant alone
}

// Report is the outcome of a run.
type Report struct {
	Seed     uint64        `json:"seed"`
	Jobs     int           `json:"jobs"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Work     string        `json:"work,omitempty"` // the kept work directory
	Results  []Result      `json:"results"`
}

// Failed reports whether a mutant was not killed by a case that checks its rule.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Results, func(res Result) bool { return res.Status != Killed })
}

// Counts returns how many mutants have each status.
func (r *Report) Counts() map[Status]int {
	c := map[Status]int{}
	for _, res := range r.Results {
		c[res.Status]++
	}
	return c
}

// runner holds what the mutants of one run share.
type runner struct {
	opts   Options
	build  *builder
	suites *suites
	logMu  sync.Mutex // serialises Options.Log

	// baselineDone is closed once the baseline has run, or at once without one; baselineErr is
	// set before. Mutants are built meanwhile, but none is run before the reference has passed.
	baselineDone chan struct{}
	baselineErr  error
}

// Run builds every mutant, runs the suite of its role against it and classifies it. It returns
// an error, and no report, when the run itself cannot proceed: the runner does not build, or the
// unmutated reference fails a case of the baseline.
func Run(ctx context.Context, ms []*Mutant, opts Options) (*Report, error) {
	if opts.Seed == 0 {
		return nil, errors.New("mutants: a seed is required")
	}
	opts.Jobs = max(opts.Jobs, 1)
	if opts.Go == "" {
		opts.Go = "go"
	}
	work, err := os.MkdirTemp("", "blindpost-mutants-")
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	if !opts.Keep {
		defer os.RemoveAll(work)
	}
	rep := &Report{Seed: opts.Seed, Jobs: opts.Jobs, Started: time.Now()}
	if opts.Keep {
		rep.Work = work
	}
	// Compiling is CPU-bound, a suite mostly waits on timers and the loopback: the builds are
	// bounded by the cores apart from the mutants in hand, so that suites run beside them.
	builds := opts.Builds
	if builds <= 0 {
		builds = runtime.NumCPU()
	}
	r := &runner{
		opts:         opts,
		build:        &builder{root: opts.Root, work: work, goCmd: opts.Go, nice: opts.BuildNice, slots: make(chan struct{}, builds)},
		baselineDone: make(chan struct{}),
	}
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	go r.baselines(ctx, ms)
	rep.Results = r.runAll(ctx, ms)
	<-r.baselineDone
	if r.baselineErr != nil {
		return nil, r.baselineErr
	}
	rep.Duration = time.Since(rep.Started)
	return rep, nil
}

// prepare builds blindpost-conform.
func (r *runner) prepare(ctx context.Context) error {
	r.note("building blindpost-conform")
	conformBin := filepath.Join(r.build.work, "blindpost-conform")
	if err := r.build.build(ctx, nil, pkgConform, conformBin); err != nil {
		return err
	}
	r.suites = &suites{conform: conformBin, seed: r.opts.Seed, xfail: r.xfailFile()}
	return nil
}

// baselines, with Baseline, checks that the unmutated reference of every role passes the cases
// the mutants will run, and then closes baselineDone. The reference command of each role is built
// once and serves every setup of that role.
func (r *runner) baselines(ctx context.Context, ms []*Mutant) {
	defer close(r.baselineDone)
	if !r.opts.Baseline {
		return
	}
	setups := rolePatterns(ms)
	refs := map[Role]string{}
	for key := range setups {
		if _, ok := refs[key.role]; ok {
			continue
		}
		bin, _, err := r.buildTarget(ctx, nil, key.role, filepath.Join(r.build.work, "reference-"+string(key.role)))
		if err != nil {
			r.baselineErr = err
			return
		}
		refs[key.role] = bin
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for key, patterns := range setups {
		wg.Go(func() {
			if err := r.baseline(ctx, key, refs[key.role], patterns); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.baselineErr = errors.Join(errs...)
}

// setup is how a suite runs: the role, the flags of a server mutant that needs its relay
// configured otherwise (joined by spaces, so that a setup can be a map key), and how many
// relays form its cluster (0: one relay).
type setup struct {
	role        Role
	serverFlags string
	suiteFlags  string
	cluster     int
}

func setupOf(m *Mutant) setup {
	return setup{m.Role, strings.Join(m.ServerFlags, " "), strings.Join(m.SuiteFlags, " "), m.Cluster}
}

// name names a setup's directory of the work tree.
func (s setup) name() string {
	name := string(s.role)
	if s.serverFlags != "" || s.suiteFlags != "" {
		h := sha256.Sum256([]byte(s.serverFlags + "\x00" + s.suiteFlags))
		name = fmt.Sprintf("%s-%x", name, h[:4])
	}
	if s.cluster > 0 {
		name = fmt.Sprintf("%s-cluster%d", name, s.cluster)
	}
	return name
}

// rolePatterns returns, for each setup, the union of the --run patterns of its mutants.
func rolePatterns(ms []*Mutant) map[setup][]string {
	out := map[setup][]string{}
	for _, m := range ms {
		key := setupOf(m)
		for _, p := range m.Patterns() {
			if !slices.Contains(out[key], p) {
				out[key] = append(out[key], p)
			}
		}
	}
	return out
}

// xfailFile returns the client suite's list of known failures of the reference client, when the
// tree has one: those cases fail on the reference too, so they cannot kill a client mutant.
func (r *runner) xfailFile() string {
	p := filepath.Join(r.opts.Root, "conformance", "clientsuite", "testdata", "reference-xfail.txt")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// baseline runs the selected cases against bin, the unmutated command of the setup's role: a
// case that fails there would "kill" every mutant without proving anything.
func (r *runner) baseline(ctx context.Context, key setup, bin string, patterns []string) error {
	role := key.role
	start := time.Now()
	r.note(fmt.Sprintf("baseline: the reference %s %s against --run %s", key.name(), key.serverFlags, strings.Join(patterns, ",")))
	dir := filepath.Join(r.build.work, "reference-"+key.name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mutants: %w", err)
	}
	rep, err := r.runSuite(ctx, key, bin, dir, patterns)
	if err != nil {
		return err
	}
	var failed []string
	for _, res := range rep.Results {
		if res.Verdict == harness.Fail {
			failed = append(failed, fmt.Sprintf("%s: %s", res.ID, firstFailure(res)))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("mutants: the unmutated reference %s fails %d case(s) with seed %d, so no mutant can be judged; fix the reference or the suite first:\n\t%s",
			role, len(failed), r.opts.Seed, strings.Join(failed, "\n\t"))
	}
	r.note(fmt.Sprintf("baseline: the reference %s passes its %d cases (%s)", role, len(rep.Results), round(time.Since(start))))
	return nil
}

// buildTarget builds the command of role, mutated by m unless m is nil, into dir, once a build
// slot is free; it returns the binary and how long the build took, without the wait.
func (r *runner) buildTarget(ctx context.Context, m *Mutant, role Role, dir string) (string, time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("mutants: %w", err)
	}
	release, err := r.build.acquire(ctx)
	if err != nil {
		return "", 0, err
	}
	defer release()
	start := time.Now()
	bin := filepath.Join(dir, filepath.Base(rolePackage[role]))
	err = r.build.build(ctx, m, rolePackage[role], bin)
	return bin, time.Since(start), err
}

// runSuite runs the cases of patterns of the suite of role against bin, working in dir.
func (r *runner) runSuite(ctx context.Context, key setup, bin, dir string, patterns []string) (*harness.Report, error) {
	role := key.role
	if role == Server && key.cluster > 0 {
		return r.suites.cluster(ctx, bin, filepath.Join(dir, "cluster"), key.cluster, patterns, strings.Fields(key.serverFlags), strings.Fields(key.suiteFlags))
	}
	if role == Server {
		return r.suites.server(ctx, bin, filepath.Join(dir, "data"), patterns, strings.Fields(key.serverFlags), strings.Fields(key.suiteFlags))
	}
	return r.suites.client(ctx, bin, dir, patterns)
}

// runAll runs the mutants, Jobs at a time, and returns their results in the order of ms.
func (r *runner) runAll(ctx context.Context, ms []*Mutant) []Result {
	results := make([]Result, len(ms))
	next := make(chan int)
	var (
		wg sync.WaitGroup
		mu sync.Mutex // serialises Progress
	)
	for range r.opts.Jobs {
		wg.Go(func() {
			for i := range next {
				results[i] = r.runOne(ctx, ms[i])
				if r.opts.Progress != nil {
					mu.Lock()
					r.opts.Progress(results[i])
					mu.Unlock()
				}
			}
		})
	}
	for _, i := range startOrder(ms) {
		select {
		case next <- i:
		case <-ctx.Done(): // interrupted: the mutants not started yet are not judged
			results[i] = Result{Mutant: ms[i], Status: Broken, Error: "mutants: not run: " + ctx.Err().Error(), Repro: repro(ms[i], r.opts.Seed)}
		}
	}
	close(next)
	wg.Wait()
	return results
}

// startOrder returns the indexes of ms in the order to start them: the mutants of a cluster
// first, whose suites (three relays, then their cases) take the longest, so that they do not run
// alone at the end of the run; the others in their order.
func startOrder(ms []*Mutant) []int {
	var first, rest []int
	for i, m := range ms {
		if m.Cluster > 0 {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	return append(first, rest...)
}

// runOne builds one mutant, runs its cases and classifies the outcome.
func (r *runner) runOne(ctx context.Context, m *Mutant) Result {
	res := Result{Mutant: m, Repro: repro(m, r.opts.Seed)}
	dir := filepath.Join(r.build.work, m.ID)
	bin, took, err := r.buildTarget(ctx, m, m.Role, dir)
	res.Build = took
	if err != nil {
		res.Status, res.Error = Broken, err.Error()
		return res
	}
	// A mutant is judged only once the reference has passed the same cases.
	select {
	case <-r.baselineDone:
	case <-ctx.Done():
	}
	if r.baselineErr != nil {
		res.Status, res.Error = Broken, "mutants: not run: the unmutated reference failed the baseline"
		return res
	}
	start := time.Now()
	rep, err := r.runSuite(ctx, setupOf(m), bin, dir, m.Patterns())
	res.Suite = time.Since(start)
	if err != nil {
		res.Status, res.Error = Broken, err.Error()
		return res
	}
	classify(&res, rep)
	return res
}

// repro returns the command that runs m alone with seed.
func repro(m *Mutant, seed uint64) string {
	pending := ""
	if m.Pending {
		pending = " --pending"
	}
	return fmt.Sprintf("go run ./conformance/mutants/cmd/mutants%s --run %s --seed %d", pending, m.ID, seed)
}

// classify sets the status and the killers of a mutant from the report of its cases.
func classify(res *Result, rep *harness.Report) {
	m := res.Mutant
	res.Cases = len(rep.Results)
	for _, cr := range rep.Results {
		if cr.Verdict != harness.Fail {
			continue
		}
		res.Killers = append(res.Killers, Killer{Case: cr.ID, Rules: cr.Rules, ChecksRule: checksRule(cr, m.Rule), Failure: failureFor(cr, m.Rule)})
	}
	slices.SortStableFunc(res.Killers, func(a, b Killer) int {
		switch {
		case a.ChecksRule == b.ChecksRule:
			return 0
		case a.ChecksRule:
			return -1
		}
		return 1
	})
	switch {
	case len(res.Killers) == 0:
		res.Status = Survived
	case res.Killers[0].ChecksRule:
		res.Status = Killed
	default:
		res.Status = OffRule
	}
}

// checksRule reports whether a failed case checks rule: it claims it, or one of its failures
// names it.
func checksRule(cr harness.Result, rule string) bool {
	if slices.Contains(cr.Rules, rule) {
		return true
	}
	return slices.ContainsFunc(cr.Failures, func(f harness.Failure) bool { return f.Rule == rule })
}

// failureFor describes in one line the first failure of a case that names rule, or else its
// first failure.
func failureFor(cr harness.Result, rule string) string {
	for _, f := range cr.Failures {
		if f.Rule == rule {
			return describe(f)
		}
	}
	return firstFailure(cr)
}

// firstFailure describes the first failure of a case in one line.
func firstFailure(cr harness.Result) string {
	if len(cr.Failures) == 0 {
		if cr.Reason != "" {
			return cr.Reason
		}
		return "failed"
	}
	return describe(cr.Failures[0])
}

// describe gives a failure in one line, after its rule.
func describe(f harness.Failure) string {
	msg, _, _ := strings.Cut(f.Message, "\n")
	if f.Rule != "" {
		msg = f.Rule + ": " + msg
	}
	return msg
}

// note passes a progress note to Options.Log, one at a time.
func (r *runner) note(s string) {
	if r.opts.Log != nil {
		r.logMu.Lock()
		defer r.logMu.Unlock()
		r.opts.Log(s)
	}
}
