package harness

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blindpost/blindpost/spec"
)

// Case is one conformance check of an implementation against named rules of the spec.
type Case struct {
	// ID is stable and unique, lower case, segments separated by '/', the first segment being
	// the suite: "server/registration/bad-proof". Expected-failure files and --run name cases by
	// it, so it never changes meaning.
	ID string
	// Rules are the rule ids of spec/protocol.md the case checks, for example "REG-3".
	Rules []string
	// Level is the strongest level of Rules; Register fills it in when empty.
	Level spec.Level
	// Description says in one sentence what the case does and expects.
	Description string
	// Timeout bounds the case; 0 means Options.CaseTimeout. Options.TimeoutFor may override it.
	Timeout time.Duration
	// Exclusive cases run alone, after the others, because they load the implementation (floods)
	// or measure delays that other cases would disturb.
	Exclusive bool
	// Final cases run alone after every other case, the exclusive ones included, because they
	// leave the implementation changed for good (a directory filled to its limit).
	Final bool
	// Run performs the case.
	Run func(*T)
}

// Suite returns the first segment of the case id.
func (c Case) Suite() string {
	s, _, _ := strings.Cut(c.ID, "/")
	return s
}

// Verdict is the outcome of one case.
type Verdict string

// The verdicts. Fail is the only one that makes a run fail (Warn too with --strict); an expected
// failure that did not pass is reported as ExpectedFail.
const (
	Pass          Verdict = "pass"
	Fail          Verdict = "fail"          // a MUST failed, the case panicked or timed out, or an expected failure passed
	Warn          Verdict = "warn"          // only SHOULD rules failed
	Unimplemented Verdict = "unimplemented" // the implementation said it does not support what the case needs
	Skip          Verdict = "skip"          // the case cannot apply to this target; never counts as a pass
	ExpectedFail  Verdict = "xfail"         // listed in the expected-failures file, and did not pass
)

var (
	caseID = regexp.MustCompile(`^[a-z0-9]+(/[a-z0-9][a-z0-9._-]*)+$`)

	registryMu sync.Mutex
	registry   []Case
	byID       = map[string]int{}
)

// Register adds cases to the package registry, in order. It panics on an invalid case (see
// Validate) or a duplicate id, as flag definitions do: registrations are static program text.
func Register(cases ...Case) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, c := range cases {
		c, err := complete(c)
		if err != nil {
			panic(err)
		}
		if _, dup := byID[c.ID]; dup {
			panic(fmt.Sprintf("conform: case %s registered twice", c.ID))
		}
		byID[c.ID] = len(registry)
		registry = append(registry, c)
	}
}

// Registered returns every registered case, in registration order.
func Registered() []Case {
	registryMu.Lock()
	defer registryMu.Unlock()
	return slices.Clone(registry)
}

// SuiteCases returns the registered cases of suite (the first segment of their id), in order.
func SuiteCases(suite string) []Case {
	var out []Case
	for _, c := range Registered() {
		if c.Suite() == suite {
			out = append(out, c)
		}
	}
	return out
}

// Lookup returns the registered case with id.
func Lookup(id string) (Case, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	i, ok := byID[id]
	if !ok {
		return Case{}, false
	}
	return registry[i], true
}

// Validate checks a case: a well-formed id, at least one rule, every rule defined in the spec,
// a level that matches the rules, and a Run function.
func Validate(c Case) error {
	_, err := complete(c)
	return err
}

// complete validates c and fills in its level.
func complete(c Case) (Case, error) {
	var errs []error
	if !caseID.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("id %q is not lower-case segments separated by '/'", c.ID))
	}
	if len(c.Rules) == 0 {
		errs = append(errs, errors.New("names no rule"))
	}
	if c.Run == nil {
		errs = append(errs, errors.New("has no Run function"))
	}
	level := spec.Should
	for _, id := range c.Rules {
		r, ok := ruleIndex()[id]
		if !ok {
			errs = append(errs, fmt.Errorf("names rule %s, which spec/protocol.md does not define", id))
			continue
		}
		if r.Level == spec.Must {
			level = spec.Must
		}
	}
	switch {
	case len(errs) > 0:
	case c.Level == "":
		c.Level = level
	case c.Level != level:
		errs = append(errs, fmt.Errorf("level %s, but its rules make it %s", c.Level, level))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("conform: case %s: %w", c.ID, errors.Join(errs...))
	}
	return c, nil
}

var (
	rulesOnce sync.Once
	rulesIdx  map[string]spec.Rule
)

// ruleIndex returns the rules of the embedded spec by id. The spec package's own tests keep it
// parseable; should it not parse, the rules it did parse are used.
func ruleIndex() map[string]spec.Rule {
	rulesOnce.Do(func() {
		rules, _ := spec.Rules()
		rulesIdx = spec.Index(rules)
	})
	return rulesIdx
}

// Rule returns the rule id of the spec, for quoting.
func Rule(id string) (spec.Rule, bool) {
	r, ok := ruleIndex()[id]
	return r, ok
}
