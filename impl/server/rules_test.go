package server_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// serverAreas are the areas of spec §1.1 whose every rule a test of the server names.
var serverAreas = []string{"WS", "REG", "SRV", "ERR", "LIM", "GSV",
	"SES", "ABU"}

// TestEveryServerRuleIsTested checks the traceability the spec asks for (§1.1): every rule of
// the server's areas is named by at least one test of impl/server, and every rule id the tests
// name exists.
func TestEveryServerRuleIsTested(t *testing.T) {
	rules, err := spec.Rules()
	if err != nil {
		t.Fatal(err)
	}
	index := spec.Index(rules)
	named := map[string]bool{}
	ruleID := regexp.MustCompile(`\b(?:WS|REG|SRV|ERR|LIM|GSV|TLS|MSG|ENC|KEY|SES|ABU)-[0-9]+\b`)
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		src, err := os.ReadFile(p)
		for _, id := range ruleID.FindAllString(string(src), -1) {
			named[id] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range named {
		if _, ok := index[id]; !ok {
			t.Errorf("a test names %s, which the spec does not define", id)
		}
	}
	checked := 0
	for _, r := range rules {
		for _, area := range serverAreas {
			if r.Area == area {
				checked++
				if !named[r.ID] {
					t.Errorf("no test of impl/server names %s (§%s): %s", r.ID, r.Section, r.Text)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d server rules found in the spec", checked)
	}
}
