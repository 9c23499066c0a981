package rules

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/conformance/conform"
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
	write(t, dir, "vectors/handshake.json", `{"vectors":[{"rule": "HS-8"},{"rule":"HS-8"},{"rules":["GRP-3","GRP-4"]}]}`)
	return dir
}

func TestBuild(t *testing.T) {
	dir := fakeRepo(t)
	cases := []conform.Case{{ID: "server/x", Rules: []string{"REG-3", "WS-1"}}}
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
		{"REG-6", nil, nil, nil}, // conformance/ is not scanned for unit tests
		{"HS-8", nil, nil, []string{"vectors/handshake.json (2)"}},
		{"GRP-4", nil, nil, []string{"vectors/handshake.json (1)"}},
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

func ids(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestWrite(t *testing.T) {
	m, err := Build(fakeRepo(t), []conform.Case{{ID: "server/x", Rules: []string{"REG-3"}}})
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
	m, err := Build(repo, conform.Registered())
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Summary(); s.Rules < 100 || s.Musts == 0 {
		t.Errorf("summary %+v", s)
	}
}
