// Package spec embeds the normative Blindpost specification (spec/protocol.md) and extracts its
// rules: every normative statement is a list item that begins with a bold rule id such as
// **[REG-3]** (spec §1.1). Tests, vectors and the conformance runner refer to rules by these ids.
package spec

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

// Protocol is the text of spec/protocol.md.
//
//go:embed protocol.md
var Protocol string

// Level is the strength of a rule: the strongest requirement word it contains.
type Level string

// The levels of spec §1.1.
const (
	Must   Level = "MUST"   // MUST or MUST NOT
	Should Level = "SHOULD" // SHOULD or SHOULD NOT
)

// Rule is one normative statement of the specification.
type Rule struct {
	ID      string // for example "REG-3"
	Area    string // for example "REG"
	Level   Level
	Section string // the number of the innermost numbered heading above it, for example "5.2" or "A.2"
	Text    string // the statement without its id
	Line    int    // 1-based line in protocol.md
}

var (
	ruleLine   = regexp.MustCompile(`^- \*\*\[([A-Z]+)-([0-9]+)\]\*\* (.+)$`)
	anyRuleID  = regexp.MustCompile(`\*\*\[([^\]]*)\]\*\*`)
	validID    = regexp.MustCompile(`^[A-Z]+-[1-9][0-9]*$`) // defs.json rule_id: TestRuleIDSyntaxIsTheSchemas
	heading    = regexp.MustCompile(`^#{2,4} (?:Appendix )?([0-9A-Z]+(?:\.[0-9]+)*)\.? `)
	mustWord   = regexp.MustCompile(`\bMUST\b`)
	shouldWd   = regexp.MustCompile(`\bSHOULD\b`)
	normWord   = regexp.MustCompile(`\b(MUST|SHOULD|SHALL|REQUIRED|RECOMMENDED)\b`)
	inlineCode = regexp.MustCompile("`[^`]*`")
)

// Rules parses the embedded specification. It fails on a malformed or duplicate rule id, on a
// rule without a requirement word, and on a requirement word outside a rule.
func Rules() ([]Rule, error) { return Parse(Protocol) }

// Parse extracts the rules of a specification text in the format of spec §1.1.
func Parse(text string) ([]Rule, error) {
	var (
		rules   []Rule
		errs    []string
		seen    = map[string]int{}
		section string
		inCode  bool
	)
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			section = m[1]
			continue
		}
		if m := ruleLine.FindStringSubmatch(line); m != nil {
			r, err := newRule(m, section, n)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if prev, dup := seen[r.ID]; dup {
				errs = append(errs, fmt.Sprintf("line %d: rule %s already defined on line %d", n, r.ID, prev))
				continue
			}
			seen[r.ID] = n
			rules = append(rules, r)
			continue
		}
		if m := anyRuleID.FindStringSubmatch(line); m != nil {
			errs = append(errs, fmt.Sprintf("line %d: rule id %q is not at the start of a list item or is malformed", n, m[1]))
			continue
		}
		if w := normWord.FindString(inlineCode.ReplaceAllString(line, "")); w != "" && !isConventions(line) {
			errs = append(errs, fmt.Sprintf("line %d: requirement word %s outside a rule", n, w))
		}
	}
	if len(errs) > 0 {
		return rules, fmt.Errorf("spec: %d problems:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return rules, nil
}

// isConventions reports whether line is the one sentence of §1.1 that defines the requirement
// words themselves.
func isConventions(line string) bool {
	return strings.HasPrefix(line, "The words MUST, MUST NOT, SHOULD, SHOULD NOT and MAY")
}

func newRule(m []string, section string, line int) (Rule, error) {
	id := m[1] + "-" + m[2]
	if !validID.MatchString(id) {
		return Rule{}, fmt.Errorf("line %d: malformed rule id %q", line, id)
	}
	text := inlineCode.ReplaceAllString(m[3], "")
	var level Level
	switch {
	case mustWord.MatchString(text):
		level = Must
	case shouldWd.MatchString(text):
		level = Should
	default:
		return Rule{}, fmt.Errorf("line %d: rule %s has no MUST or SHOULD", line, id)
	}
	return Rule{ID: id, Area: m[1], Level: level, Section: section, Text: m[3], Line: line}, nil
}

// Index returns the rules keyed by id.
func Index(rules []Rule) map[string]Rule {
	idx := make(map[string]Rule, len(rules))
	for _, r := range rules {
		idx[r.ID] = r
	}
	return idx
}
