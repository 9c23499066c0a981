package rules

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/conformance/harness"
	// The suites register their cases, which TestNotObservable counts.
	_ "github.com/blindpost/blindpost/conformance/clientsuite"
	_ "github.com/blindpost/blindpost/conformance/serversuite"
)

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fakeRepo(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, "go.mod", "module github.com/blindpost/blindpost\n\ngo 1.26\n")
	write(t, dir, "impl/x/x_test.go", `package x

import "testing"

// cases name REG-4 in a table outside any test.
var cases = []string{"REG-4"}

// TestProof checks REG-3.
func TestProof(t *testing.T) { _ = "REG-3 and NOPE-1" }

func helper() { _ = "REG-5" }
`)
	write(t, dir, "conformance/serversuite/s_test.go", "package s\n// REG-6 is claimed by cases, not by unit tests\n")
	write(t, dir, "vectors/handshake.json", `{"rules":["VEC-1","HS-8","GRP-4"],"vectors":[{"rule": "HS-8"},{"rule":"HS-8"},{"rules":["GRP-3","GRP-4"]},{"comment":"\"rule\": \"HS-9\""}]}`)
	return dir
}

func TestBuild(t *testing.T) {
	dir := fakeRepo(t)
	cases := []harness.Case{{ID: "server/x", Rules: []string{"REG-3", "WS-1"}}}
	m, err := Build(dir, cases)
	if err != nil {
		t.Fatal(err)
	}
	get := func(id string) Entry {
		for _, e := range m.Entries {
			if e.ID == id {
				return e
			}
		}
		t.Fatalf("no rule %s", id)
		return Entry{}
	}
	for _, tc := range []struct {
		id                   string
		tests, cases, vector []string
	}{
		{"REG-3", []string{"impl/x/x_test.go:TestProof"}, []string{"server/x"}, nil},
		{"REG-4", []string{"impl/x/x_test.go"}, nil, nil},
		{"REG-5", []string{"impl/x/x_test.go"}, nil, nil},
		{"REG-6", nil, nil, nil},                                   // conformance/ is not scanned for unit tests
		{"HS-8", nil, nil, []string{"vectors/handshake.json (2)"}}, // the file's own list is not a vector
		{"GRP-4", nil, nil, []string{"vectors/handshake.json (1)"}},
		{"VEC-1", nil, nil, []string{"vectors/handshake.json (file)"}}, // named by the file as a whole only
		{"HS-9", nil, nil, nil},                                        // text inside a string names nothing
	} {
		e := get(tc.id)
		if !slices.Equal(e.Tests, tc.tests) || !slices.Equal(e.Cases, tc.cases) || !slices.Equal(e.Vectors, tc.vector) {
			t.Errorf("%s: tests %q cases %q vectors %q; want %q %q %q", tc.id, e.Tests, e.Cases, e.Vectors, tc.tests, tc.cases, tc.vector)
		}
	}
	missing := m.MustsWithoutCaseOrVector()
	if slices.ContainsFunc(missing, func(e Entry) bool { return e.ID == "HS-8" || e.ID == "REG-3" }) ||
		!slices.ContainsFunc(missing, func(e Entry) bool { return e.ID == "REG-4" }) {
		t.Errorf("MUSTs without case or vector: %v", ids(missing))
	}
	un := m.Unchecked()
	if slices.ContainsFunc(un, func(e Entry) bool { return e.ID == "REG-4" }) || !slices.ContainsFunc(un, func(e Entry) bool { return e.ID == "REG-6" }) {
		t.Errorf("unchecked: %v", ids(un))
	}
	for i := 1; i < len(un); i++ {
		if un[i-1].Level != "MUST" && un[i].Level == "MUST" {
			t.Fatalf("unchecked rules are not MUSTs first: %v", ids(un))
		}
	}
}

// TestProblems checks what --require-musts enforces: observable MUSTs need a case or vector, and
// every entry of the list of rules not observable must be a rule of the spec with a unit test.
func TestProblems(t *testing.T) {
	dir := fakeRepo(t)
	list := []Unobservable{
		{"REG-4", "named by a unit test only"},  // fine
		{"REG-6", "no unit test names it"},      // no unit test
		{"NOPE-1", "the spec has no such rule"}, // unknown
	}
	m, err := build(dir, []harness.Case{{ID: "server/x", Rules: []string{"REG-3"}}}, list)
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(m.Problems(), "\n")
	for _, want := range []string{
		"REG-6 is listed as not observable, but no unit test names it",
		"NOPE-1 is listed as not observable, but spec/protocol.md has no such rule",
		"REG-7 (MUST, §5.2) is observable but no conformance case or vector checks it",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	for _, not := range []string{"REG-4 is listed", "REG-4 (MUST", "REG-6 (MUST", "HS-8 (MUST", "REG-3 (MUST"} {
		if strings.Contains(problems, not) {
			t.Errorf("problems hold %q:\n%s", not, problems)
		}
	}
	if slices.ContainsFunc(m.MustsWithoutCaseOrVector(), func(e Entry) bool { return e.ID == "REG-4" || e.ID == "REG-6" }) {
		t.Errorf("rules listed as not observable are among the MUSTs without case or vector: %v", ids(m.MustsWithoutCaseOrVector()))
	}
	var text bytes.Buffer
	if err := m.WriteText(&text, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Checked by unit tests; not observable from outside (", "why:   named by a unit test only",
		"tests: impl/x/x_test.go", "tests: NONE", "Problems ("} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
}

// TestNotObservable keeps the list of rules no case or vector can observe honest against the
// repository itself: every entry is a rule of the spec, a MUST or a SHOULD, has a reason and at
// least one unit test, and no case or vector checks it. With the cases of both suites
// registered, it also checks the matrix's target: every observable MUST has a case or vector.
func TestNotObservable(t *testing.T) {
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(repo, harness.Registered())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Entry{}
	for _, e := range m.Entries {
		byID[e.ID] = e
	}
	seen := map[string]bool{}
	for _, u := range NotObservable {
		e, ok := byID[u.ID]
		if seen[u.ID] {
			t.Errorf("%s: listed twice", u.ID)
		}
		seen[u.ID] = true
		switch {
		case !ok:
			t.Errorf("%s: not a rule of spec/protocol.md", u.ID)
			continue
		case e.Level != "MUST" && e.Level != "SHOULD":
			t.Errorf("%s: level %q", u.ID, e.Level)
		case len(strings.Fields(u.Reason)) < 5:
			t.Errorf("%s: the reason %q does not say why", u.ID, u.Reason)
		case len(e.Tests) == 0:
			t.Errorf("%s: no unit test names it", u.ID)
		case e.Checked():
			t.Errorf("%s: checked by %v %v, so it is observable: remove it from NotObservable", u.ID, e.Cases, e.Vectors)
		}
	}
	if !slices.IsSortedFunc(NotObservable, func(a, b Unobservable) int { return byID[a.ID].Line - byID[b.ID].Line }) {
		t.Error("NotObservable is not in spec order")
	}
	for _, p := range m.Problems() {
		t.Errorf("blindpost-conform rules --require-musts: %s", p)
	}
}

func ids(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestWrite(t *testing.T) {
	m, err := Build(fakeRepo(t), []harness.Case{{ID: "server/x", Rules: []string{"REG-3"}}})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := m.WriteText(&text, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"REG-3     MUST       1       0     1  server/x, impl/x/x_test.go:TestProof", "case   server/x",
		"MUST rules no conformance case or vector checks", "Rules nothing checks, MUSTs first", "MUSTs are checked by a conformance case or a vector"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	var js bytes.Buffer
	if err := m.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rules                    []Entry
		Summary                  Summary
		MustsWithoutCaseOrVector []string `json:"musts_without_case_or_vector"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != got.Summary.Rules || got.Summary.Musts == 0 || len(got.MustsWithoutCaseOrVector) == 0 {
		t.Errorf("JSON summary %+v", got.Summary)
	}
}

func TestFindRepo(t *testing.T) {
	dir := fakeRepo(t)
	got, err := FindRepo(filepath.Join(dir, "impl", "x"))
	if err != nil || got != dir {
		t.Errorf("FindRepo = %q, %v; want %q", got, err, dir)
	}
	if _, err := FindRepo(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--repo") {
		t.Errorf("FindRepo outside a repository: %v", err)
	}
}

func TestTheRepository(t *testing.T) {
	repo, err := FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(repo, harness.Registered())
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Summary(); s.Rules < 100 || s.Musts == 0 {
		t.Errorf("summary %+v", s)
	}
}
