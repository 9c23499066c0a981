package mutants

import (
	"context"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/blindpost/blindpost/conformance/clientsuite" // registers the client cases
	"github.com/blindpost/blindpost/conformance/harness"
	_ "github.com/blindpost/blindpost/conformance/serversuite" // registers the server cases
	"github.com/blindpost/blindpost/spec"
)

// root is the module root, from this package's directory.
var root = filepath.Join("..", "..")

func all(t *testing.T) []*Mutant {
	t.Helper()
	ms, err := All()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// curatedAndPending returns every mutant, the pending ones included: those must stay ready to
// run too.
func curatedAndPending(t *testing.T) []*Mutant {
	t.Helper()
	pending, err := Pending()
	if err != nil {
		t.Fatal(err)
	}
	return append(all(t), pending...)
}

// TestMutantsParse: every mutant file parses, and there are enough of both roles (at least
// 25, as conformance/README.md promises).
func TestMutantsParse(t *testing.T) {
	ms := all(t)
	if len(ms) < 25 {
		t.Errorf("%d mutants, want at least 25", len(ms))
	}
	roles := map[Role]int{}
	for _, m := range ms {
		roles[m.Role]++
	}
	for _, r := range []Role{Server, Client} {
		if roles[r] < 10 {
			t.Errorf("%d %s mutants, want at least 10", roles[r], r)
		}
	}
}

// TestMutantsNameSpecRules: every mutant names a rule of spec/protocol.md.
func TestMutantsNameSpecRules(t *testing.T) {
	rules, err := spec.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range curatedAndPending(t) {
		if !slices.ContainsFunc(rules, func(r spec.Rule) bool { return r.ID == m.Rule }) {
			t.Errorf("%s names rule %s, which spec/protocol.md does not define", m.ID, m.Rule)
		}
	}
}

// TestMutantsApply: every snippet occurs exactly once in the current tree, and the mutated file
// is still Go, so that a refactoring that makes a mutant stale fails go test, not only make
// mutants. (Whether it type-checks is left to the build of make mutants.)
func TestMutantsApply(t *testing.T) {
	for _, m := range curatedAndPending(t) {
		mutated, err := m.Apply(root)
		if err != nil {
			t.Error(err)
			continue
		}
		if _, err := parser.ParseFile(token.NewFileSet(), m.File, mutated, parser.SkipObjectResolution); err != nil {
			t.Errorf("%s: the mutated %s is not Go: %v", m.ID, m.File, err)
		}
	}
}

// TestMutantsSelectCheckingCases: the cases run against each mutant (its run: patterns, or its
// rule's area) exist, and one of them claims the mutant's rule, so that it can be killed by a
// case that checks what it broke.
func TestMutantsSelectCheckingCases(t *testing.T) {
	for _, m := range curatedAndPending(t) {
		sel, err := harness.Select(harness.SuiteCases(string(m.Role)), m.Patterns())
		if err != nil {
			t.Errorf("%s: %v", m.ID, err)
			continue
		}
		if !slices.ContainsFunc(sel, func(c harness.Case) bool { return slices.Contains(c.Rules, m.Rule) }) {
			t.Errorf("%s: none of the %d %s cases of --run %s claims %s", m.ID, len(sel), m.Role, strings.Join(m.Patterns(), ","), m.Rule)
		}
	}
}

// TestMutantsDistinct: no two mutants make the same change or share a name.
func TestMutantsDistinct(t *testing.T) {
	seen := map[string]string{}
	names := map[string]string{}
	for _, m := range curatedAndPending(t) {
		name := m.ID[3:]
		if other, dup := names[name]; dup {
			t.Errorf("%s and %s have the same name", other, m.Source)
		}
		names[name] = m.Source
		key := m.File + "\x00" + m.Find + "\x00" + m.Replace
		if other, dup := seen[key]; dup {
			t.Errorf("%s and %s make the same change", other, m.Source)
		}
		seen[key] = m.Source
	}
}

func TestParseErrors(t *testing.T) {
	const good = "role: server\nrule: REG-3\nbug: b\nfile: impl/server/x.go\n-- find --\na\n-- replace --\nb\n"
	if _, err := Parse("01-ok.txtar", []byte(good)); err != nil {
		t.Fatalf("a good mutant: %v", err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"01-x.txtar", strings.Replace(good, "role: server", "role: both", 1), `role "both"`},
		{"01-x.txtar", strings.Replace(good, "rule: REG-3", "rule: reg3", 1), `rule "reg3"`},
		{"01-x.txtar", strings.Replace(good, "bug: b\n", "", 1), "no bug"},
		{"01-x.txtar", strings.Replace(good, "impl/server/x.go", "impl/client/x.go", 1), "under impl/server/"},
		{"01-x.txtar", strings.Replace(good, "impl/server/x.go", "impl/server/x_test.go", 1), "not a test"},
		{"01-x.txtar", strings.Replace(good, "impl/server/x.go", "impl/server/../e2ee/x.go", 1), "under impl/server/"},
		{"01-x.txtar", strings.Replace(good, "bug: b", "bug: b\ncolour: red", 1), `unknown key "colour"`},
		{"01-x.txtar", strings.Replace(good, "bug: b", "bug: b\nbug: c", 1), "bug given twice"},
		{"01-x.txtar", strings.Replace(good, "-- replace --", "-- replacement --", 1), "sections"},
		{"01-x.txtar", strings.Replace(good, "-- replace --\nb", "-- replace --\na", 1), "equals the find section"},
		{"01-x.txtar", strings.Replace(good, "-- find --\na", "-- find --\n", 1), "find section is empty"},
		{"x.txtar", good, `id "x"`},
	} {
		_, err := Parse(tc.name, []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.text, err, tc.want)
		}
	}
}

func TestParseSections(t *testing.T) {
	text := "# a comment\nrole: client\nrule: REC-3\nbug: b\nfile: impl/e2ee/x.go\nrun: client/records/, REC-4\n" +
		"-- find --\n\tif a {\n\t\treturn\n\t}\n-- replace --\n\tif b {\n"
	m, err := Parse("dir/07-sections.txtar", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "07-sections" || m.Find != "\tif a {\n\t\treturn\n\t}" || m.Replace != "\tif b {" {
		t.Errorf("got id %q find %q replace %q", m.ID, m.Find, m.Replace)
	}
	if want := []string{"client/records/", "REC-4"}; !slices.Equal(m.Patterns(), want) {
		t.Errorf("patterns %q, want %q", m.Patterns(), want)
	}
	m.Run = nil
	if want := []string{"REC-"}; !slices.Equal(m.Patterns(), want) {
		t.Errorf("default patterns %q, want %q", m.Patterns(), want)
	}
}

func TestApplyErrors(t *testing.T) {
	m := &Mutant{ID: "01-x", File: "impl/server/x.go", Source: "01-x.txtar", Find: "x := 1", Replace: "x := 2"}
	got, err := m.applyTo([]byte("a\nx := 1\nb\n"))
	if err != nil || string(got) != "a\nx := 2\nb\n" {
		t.Errorf("applyTo = %q, %v", got, err)
	}
	if _, err := m.applyTo([]byte("a\nb\n")); err == nil || !strings.Contains(err.Error(), "01-x no longer applies") || !strings.Contains(err.Error(), "impl/server/x.go") {
		t.Errorf("a missing snippet: %v", err)
	}
	if _, err := m.applyTo([]byte("x := 1\nb\nx := 1\n")); err == nil || !strings.Contains(err.Error(), "occurs 2 times") || !strings.Contains(err.Error(), "lines 1, 3") {
		t.Errorf("an ambiguous snippet: %v", err)
	}
}

func TestLoadReportsEveryBadFile(t *testing.T) {
	fsys := fstest.MapFS{
		"01-a.txtar": {Data: []byte("role: x\n")},
		"02-b.txtar": {Data: []byte("rule: y\n")},
	}
	_, err := Load(fsys)
	if err == nil || !strings.Contains(err.Error(), "01-a.txtar") || !strings.Contains(err.Error(), "02-b.txtar") {
		t.Errorf("Load = %v, want errors for both files", err)
	}
	if ms, err := Load(fstest.MapFS{}); err != nil || len(ms) != 0 {
		t.Errorf("Load of an empty directory = %d mutants, %v; want none and no error", len(ms), err)
	}
}

func TestSelect(t *testing.T) {
	ms := []*Mutant{{ID: "01-a", Role: Server, Rule: "REG-3"}, {ID: "02-b", Role: Client, Rule: "REC-3"}, {ID: "12-c", Role: Client, Rule: "REC-4"}}
	for _, tc := range []struct {
		patterns []string
		want     []string
	}{
		{nil, []string{"01-a", "02-b", "12-c"}},
		{[]string{"01"}, []string{"01-a"}},
		{[]string{"REC-3", "12-c"}, []string{"02-b", "12-c"}},
		{[]string{"client"}, []string{"02-b", "12-c"}},
	} {
		sel, err := Select(ms, tc.patterns)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range sel {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("Select(%q) = %q, want %q", tc.patterns, ids, tc.want)
		}
	}
	if _, err := Select(ms, []string{"REG-30"}); err == nil {
		t.Error("a pattern that matches nothing was accepted")
	}
}

func TestStartupLines(t *testing.T) {
	s := &startup{ready: make(chan struct{})}
	for _, chunk := range []string{"generated a certificate\nlisten", "ing on wss://127.0.0.1:4/\nserver pin: sha", "256:ab\n"} {
		s.Write([]byte(chunk))
	}
	select {
	case <-s.ready:
	default:
		t.Fatal("not ready after the URL and pin lines")
	}
	if url, pin := s.values(); url != "wss://127.0.0.1:4/" || pin != "sha256:ab" {
		t.Errorf("url %q pin %q", url, pin)
	}
}

// TestRunKillsOneMutant runs one client mutant end to end, as make mutants does: built with an
// overlay, run through blindpost-conform, killed by the case that checks its rule.
func TestRunKillsOneMutant(t *testing.T) {
	sel := slices.DeleteFunc(all(t), func(m *Mutant) bool { return !strings.HasSuffix(m.ID, "-rec-no-reflection-check") })
	if len(sel) != 1 {
		t.Fatalf("%d mutants named rec-no-reflection-check, want 1", len(sel))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, sel, Options{Root: root, Jobs: 1, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	res := rep.Results[0]
	if res.Status != Killed {
		var b strings.Builder
		writeResult(&b, res)
		t.Fatalf("the mutant was not killed:\n%s", b.String())
	}
	if !slices.ContainsFunc(res.Killers, func(k Killer) bool { return k.Case == "client/records/reflected" && k.ChecksRule }) {
		t.Errorf("killers %+v, want client/records/reflected", res.Killers)
	}
}
