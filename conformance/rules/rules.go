// Package rules builds the traceability matrix of spec/protocol.md (spec §1.1): for every MUST
// and SHOULD, the unit tests that name it, the conformance cases that claim it and the test
// vectors that check it, and the rules that nothing checks.
//
// Unit tests are found by scanning every *_test.go file of the repository outside conformance/
// (whose tests exercise the cases, which are counted as cases) for rule ids as words; each
// mention is attributed to the Test, Fuzz, Example or Benchmark function around it, or to the
// file when it is outside one (a table, a helper). Vectors are the vectors/*.json files, whose
// "rule": "X-N" members (or "rules": [...] lists) name the rules they check, and whose top-level
// "rules" list names what the file as a whole checks (VEC-1 first). Cases come from the conform
// registry.
//
// Some rules no black-box case or vector can check (NotObservable, each with its reason): the
// matrix prints them apart with their unit tests, and Problems, what --require-musts enforces,
// accepts them as long as a unit test names them.
package rules

import (
	"cmp"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/spec"
)

// Entry is one rule with everything that checks it.
type Entry struct {
	spec.Rule
	Tests   []string `json:"tests"`   // "impl/server/register_test.go:TestBadProof", or a file
	Cases   []string `json:"cases"`   // conformance case ids
	Vectors []string `json:"vectors"` // "vectors/handshake.json (3)": file and how many vectors name the rule
	// Unobservable is the reason no case or vector can check the rule, when NotObservable
	// lists it; empty otherwise.
	Unobservable string `json:"unobservable,omitempty"`
}

// Checked reports whether a conformance case or a vector checks the rule (every MUST should be).
func (e Entry) Checked() bool { return len(e.Cases) > 0 || len(e.Vectors) > 0 }

// Unchecked reports whether nothing at all checks the rule.
func (e Entry) Unchecked() bool { return !e.Checked() && len(e.Tests) == 0 }

// Matrix is the traceability of every rule of the spec.
type Matrix struct {
	Repo    string  `json:"repo"`
	Entries []Entry `json:"rules"`

	notObservable []Unobservable // the list the matrix was built with
}

var (
	ruleWord = regexp.MustCompile(`\b[A-Z]+-[1-9][0-9]*\b`)
)

// Build scans the repository at repo and the cases, and returns the matrix of the rules of the
// embedded spec, in spec order, with the rules of NotObservable marked.
func Build(repo string, cases []harness.Case) (*Matrix, error) {
	return build(repo, cases, NotObservable)
}

func build(repo string, cases []harness.Case, notObservable []Unobservable) (*Matrix, error) {
	rules, err := spec.Rules()
	if err != nil {
		return nil, err
	}
	idx := map[string]*Entry{}
	m := &Matrix{Repo: repo, Entries: make([]Entry, len(rules)), notObservable: notObservable}
	for i, r := range rules {
		m.Entries[i] = Entry{Rule: r}
		idx[r.ID] = &m.Entries[i]
	}
	for _, u := range notObservable {
		if e, ok := idx[u.ID]; ok {
			e.Unobservable = u.Reason
		}
	}
	for _, c := range cases {
		for _, id := range c.Rules {
			if e, ok := idx[id]; ok {
				e.Cases = append(e.Cases, c.ID)
			}
		}
	}
	if err := scanTests(repo, idx); err != nil {
		return nil, err
	}
	if err := scanVectors(repo, idx); err != nil {
		return nil, err
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		slices.Sort(e.Tests)
		e.Tests = slices.Compact(e.Tests)
	}
	return m, nil
}

// scanTests attributes the rule ids named in the repository's test files.
func scanTests(repo string, idx map[string]*Entry) error {
	return filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "conformance" || rel == "vendor" || strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for id, where := range mentions(rel, src) {
			if e, ok := idx[id]; ok {
				e.Tests = append(e.Tests, where...)
			}
		}
		return nil
	})
}

// mentions returns, for each rule id in a Go test file, where it is named: "file:Func" for a
// test function, "file" otherwise.
func mentions(rel string, src []byte) map[string][]string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.ParseComments|parser.SkipObjectResolution)
	type span struct {
		name       string
		start, end int
	}
	var funcs []span
	if err == nil {
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil && isTestName(fd.Name.Name) {
				start, end := fset.Position(fd.Pos()).Offset, fset.Position(fd.End()).Offset
				if fd.Doc != nil {
					start = fset.Position(fd.Doc.Pos()).Offset
				}
				funcs = append(funcs, span{fd.Name.Name, start, end})
			}
		}
	}
	out := map[string][]string{}
	for _, loc := range ruleWord.FindAllIndex(src, -1) {
		id := string(src[loc[0]:loc[1]])
		where := rel
		for _, s := range funcs {
			if loc[0] >= s.start && loc[0] < s.end {
				where = rel + ":" + s.name
			}
		}
		out[id] = append(out[id], where)
	}
	return out
}

func isTestName(name string) bool {
	for _, p := range []string{"Test", "Fuzz", "Example", "Benchmark"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// scanVectors counts, per vectors/*.json file, the vectors naming each rule in a "rule" or
// "rules" member, and records the rules the file names as a whole in its top-level "rules"
// member (VEC-1 and the family's rules, vectors/README.md): "vectors/group.json (17)", or
// "vectors/group.json (file)" for a rule only the file as a whole names.
func scanVectors(repo string, idx map[string]*Entry) error {
	files, err := filepath.Glob(filepath.Join(repo, "vectors", "*.json"))
	if err != nil {
		return err
	}
	for _, p := range files {
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var doc any
		if err := json.Unmarshal(src, &doc); err != nil {
			return fmt.Errorf("rules: %s: %w", p, err)
		}
		count, whole := map[string]int{}, map[string]bool{}
		if root, ok := doc.(map[string]any); ok {
			for _, id := range ruleList(root["rules"]) {
				whole[id] = true
			}
		}
		countRules(doc, true, count)
		name := "vectors/" + filepath.Base(p)
		for _, id := range slices.Sorted(maps.Keys(count)) {
			if e, ok := idx[id]; ok {
				e.Vectors = append(e.Vectors, fmt.Sprintf("%s (%d)", name, count[id]))
			}
		}
		for _, id := range slices.Sorted(maps.Keys(whole)) {
			if e, ok := idx[id]; ok && count[id] == 0 {
				e.Vectors = append(e.Vectors, name+" (file)")
			}
		}
	}
	return nil
}

// countRules counts, for every object below the root of doc, the rule ids its "rule" and
// "rules" members name: one per vector (or step) and rule.
func countRules(doc any, root bool, count map[string]int) {
	switch d := doc.(type) {
	case map[string]any:
		for k, v := range d {
			switch {
			case k == "rules" && root: // the file's own list, counted apart
			case k == "rules":
				for _, id := range ruleList(v) {
					count[id]++
				}
			case k == "rule":
				if id, ok := v.(string); ok && wire.ValidRuleID(id) {
					count[id]++
				}
			default:
				countRules(v, false, count)
			}
		}
	case []any:
		for _, v := range d {
			countRules(v, false, count)
		}
	}
}

// ruleList returns the rule ids of a "rules" member: an array of strings.
func ruleList(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if id, ok := x.(string); ok && wire.ValidRuleID(id) {
			out = append(out, id)
		}
	}
	return out
}

// MustsWithoutCaseOrVector returns the observable MUST rules that no conformance case and no
// vector check, in spec order: what --require-musts requires to be empty. The rules of NotObservable are
// not among them (see Unobservables).
func (m *Matrix) MustsWithoutCaseOrVector() []Entry {
	var out []Entry
	for _, e := range m.Entries {
		if e.Level == spec.Must && !e.Checked() && e.Unobservable == "" {
			out = append(out, e)
		}
	}
	return out
}

// Unobservables returns the rules NotObservable lists, in spec order.
func (m *Matrix) Unobservables() []Entry {
	var out []Entry
	for _, e := range m.Entries {
		if e.Unobservable != "" {
			out = append(out, e)
		}
	}
	return out
}

// Problems returns what makes the matrix fall short of every MUST checked, which --require-musts turns
// into exit status 1: an observable MUST that no case or vector checks, and an entry of
// NotObservable that names no rule of the spec or that no unit test names. (TestNotObservable
// checks the rest of the list: a reason for every entry, and no entry a case or vector checks.)
func (m *Matrix) Problems() []string {
	var out []string
	for _, e := range m.MustsWithoutCaseOrVector() {
		out = append(out, fmt.Sprintf("%s (MUST, §%s) is observable but no conformance case or vector checks it", e.ID, e.Section))
	}
	idx := map[string]Entry{}
	for _, e := range m.Entries {
		idx[e.ID] = e
	}
	for _, u := range m.notObservable {
		e, ok := idx[u.ID]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s is listed as not observable, but spec/protocol.md has no such rule", u.ID))
		case len(e.Tests) == 0:
			out = append(out, fmt.Sprintf("%s is listed as not observable, but no unit test names it", u.ID))
		}
	}
	return out
}

// Unchecked returns the rules nothing checks (no unit test, case or vector), MUSTs first.
func (m *Matrix) Unchecked() []Entry {
	var out []Entry
	for _, e := range m.Entries {
		if e.Unchecked() {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return cmp.Compare(levelRank(a.Level), levelRank(b.Level)) })
	return out
}

func levelRank(l spec.Level) int {
	if l == spec.Must {
		return 0
	}
	return 1
}

// FindRepo returns the root of the Blindpost repository that holds dir: the nearest directory
// above it whose go.mod declares the module github.com/blindpost/blindpost.
func FindRepo(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(mod), "module github.com/blindpost/blindpost\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("rules: %s is not inside the Blindpost repository; pass --repo DIR", abs)
		}
	}
}
