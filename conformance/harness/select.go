package harness

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/impl/wire"
)

// Select returns the cases that match at least one pattern, in their order; no pattern selects
// every case. A pattern matches:
//
//   - a case id equal to it, and only that case when some case has exactly this id (so that the
//     repro command of a failure replays just that case);
//   - otherwise every case id that starts with it ("server/registration");
//   - a rule id equal to it when it is a complete rule id ("REG-3" selects REG-3, not REG-30);
//   - otherwise every rule id that starts with it ("REG", "REG-1" matches only REG-1 and "GSV-"
//     every GSV rule).
//
// Select fails when a pattern matches nothing, so that a typing error is not a silent pass.
func Select(cases []Case, patterns []string) ([]Case, error) {
	if len(patterns) == 0 {
		return cases, nil
	}
	chosen := make([]bool, len(cases))
	var unmatched []string
	for _, p := range patterns {
		hit := false
		for i, c := range cases {
			if matches(c, p, cases) {
				chosen[i], hit = true, true
			}
		}
		if !hit {
			unmatched = append(unmatched, p)
		}
	}
	if len(unmatched) > 0 {
		return nil, fmt.Errorf("conform: --run %s matches no case id or rule id (see --list)", strings.Join(unmatched, ", "))
	}
	var out []Case
	for i, c := range cases {
		if chosen[i] {
			out = append(out, c)
		}
	}
	return out, nil
}

func matches(c Case, p string, all []Case) bool {
	exact := slices.ContainsFunc(all, func(o Case) bool { return o.ID == p })
	switch {
	case c.ID == p:
		return true
	case !exact && strings.HasPrefix(c.ID, p):
		return true
	}
	for _, r := range c.Rules {
		if r == p || (!wire.ValidRuleID(p) && strings.HasPrefix(r, p)) {
			return true
		}
	}
	return false
}

// Expectation is one line of an expected-failures file.
type Expectation struct {
	Reason string
	File   string
	Line   int
}

// ExpectedFailures maps case ids to the reason they are expected to fail.
type ExpectedFailures map[string]Expectation

// LoadExpectedFailures reads an expected-failures file (see ParseExpectedFailures).
func LoadExpectedFailures(path string, known func(id string) bool) (ExpectedFailures, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("conform: expected failures: %w", err)
	}
	defer f.Close()
	return ParseExpectedFailures(path, f, known)
}

// ParseExpectedFailures parses an expected-failures file: one case per line, its id, white space
// and the reason it fails; blank lines and lines starting with '#' are ignored. Every problem is
// reported at once: a line without a reason, an id listed twice, and an id that known rejects
// (a case that does not exist: the file has gone stale or has a typing error).
func ParseExpectedFailures(name string, r io.Reader, known func(id string) bool) (ExpectedFailures, error) {
	out := ExpectedFailures{}
	var problems []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			id, reason = line[:i], strings.TrimSpace(line[i:])
		}
		switch {
		case reason == "":
			problems = append(problems, fmt.Sprintf("%s:%d: %s has no reason; write CASE-ID REASON", name, n, id))
		case known != nil && !known(id):
			problems = append(problems, fmt.Sprintf("%s:%d: no case has the id %s", name, n, id))
		case out[id].Line != 0:
			problems = append(problems, fmt.Sprintf("%s:%d: %s is already listed on line %d", name, n, id, out[id].Line))
		default:
			out[id] = Expectation{Reason: reason, File: name, Line: n}
		}
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", name, err))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("conform: expected failures:\n  %s", strings.Join(problems, "\n  "))
	}
	return out, nil
}
