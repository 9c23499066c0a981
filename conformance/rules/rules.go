// Package rules builds the traceability matrix of spec/protocol.md (spec §1.1): for every MUST
// and SHOULD, the unit tests that name it, the conformance cases that claim it and the test
// vectors that check it, and the rules that nothing checks.
//
// Unit tests are found by scanning every *_test.go file of the repository outside conformance/
// (whose tests exercise the cases, which are counted as cases) for rule ids as words; each
// mention is attributed to the Test, Fuzz, Example or Benchmark function around it, or to the
// file when it is outside one (a table, a helper). Vectors are the vectors/*.json files, whose
// "rule": "X-N" members (or "rules": [...] lists) name the rules they check. Cases come from the
// conform registry.
package rules

import (
	"cmp"
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

	"github.com/blindpost/blindpost/conformance/conform"
	"github.com/blindpost/blindpost/spec"
)

// Entry is one rule with everything that checks it.
type Entry struct {
	spec.Rule
	Tests   []string `json:"tests"`   // "impl/server/register_test.go:TestBadProof", or a file
	Cases   []string `json:"cases"`   // conformance case ids
	Vectors []string `json:"vectors"` // "vectors/handshake.json (3)": file and how many vectors name the rule
}

// Checked reports whether a conformance case or a vector checks the rule (issue 6: every MUST).
func (e Entry) Checked() bool { return len(e.Cases) > 0 || len(e.Vectors) > 0 }

// Unchecked reports whether nothing at all checks the rule.
func (e Entry) Unchecked() bool { return !e.Checked() && len(e.Tests) == 0 }

// Matrix is the traceability of every rule of the spec.
type Matrix struct {
	Repo    string  `json:"repo"`
	Entries []Entry `json:"rules"`
}

var (
	ruleWord   = regexp.MustCompile(`\b[A-Z]+-[1-9][0-9]*\b`)
	vectorRule = regexp.MustCompile(`"rule"\s*:\s*"([A-Z]+-[1-9][0-9]*)"`)
	vectorList = regexp.MustCompile(`"rules"\s*:\s*\[([^\]]*)\]`)
)

// Build scans the repository at repo and the cases, and returns the matrix of the rules of the
// embedded spec, in spec order.
func Build(repo string, cases []conform.Case) (*Matrix, error) {
	rules, err := spec.Rules()
	if err != nil {
		return nil, err
	}
	idx := map[string]*Entry{}
	m := &Matrix{Repo: repo, Entries: make([]Entry, len(rules))}
	for i, r := range rules {
		m.Entries[i] = Entry{Rule: r}
		idx[r.ID] = &m.Entries[i]
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

// scanVectors counts, per vectors/*.json file, the vectors naming each rule.
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
		count := map[string]int{}
		for _, m := range vectorRule.FindAllSubmatch(src, -1) {
			count[string(m[1])]++
		}
		for _, m := range vectorList.FindAllSubmatch(src, -1) {
			for _, id := range ruleWord.FindAll(m[1], -1) {
				count[string(id)]++
			}
		}
		name := "vectors/" + filepath.Base(p)
		for _, id := range slices.Sorted(maps.Keys(count)) {
			if e, ok := idx[id]; ok {
				e.Vectors = append(e.Vectors, fmt.Sprintf("%s (%d)", name, count[id]))
			}
		}
	}
	return nil
}

// MustsWithoutCaseOrVector returns the MUST rules that no conformance case and no vector check,
// in spec order: what issue 6 requires to be empty.
func (m *Matrix) MustsWithoutCaseOrVector() []Entry {
	var out []Entry
	for _, e := range m.Entries {
		if e.Level == spec.Must && !e.Checked() {
			out = append(out, e)
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
