package e2ee

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// notHere lists the rules of the areas e2ee implements whose checks belong
// elsewhere, with where. Every other rule must be named by a test under
// impl/e2ee.
var notHere = map[string]string{
	"ENC-5":  "base64 in JSON: impl/wire",
	"ENC-6":  "base64 in JSON: impl/wire",
	"ENC-7":  "JSON integers: impl/wire",
	"ENC-8":  "JSON integers: impl/wire",
	"ENC-9":  "UTF-8 in JSON: impl/wire",
	"ENC-10": "surrogate escapes in JSON: impl/wire",
	"KEY-2":  "what the client sends: the client (identity.Seed is only for keyfile)",
	"HS-2":   "get_pubkey and the pin check before hs1: the client, with trust.Store",
	"HS-3":   "consent before hs2: the client",
	"HS-4":   "chat_response before hs1: the client",
	"HS-13":  "the handshake timer: the client, with Initiator.Abort and Responder.Abort",
	"GRP-12": "when to send after a leave: the client, with State.Members",
	"GRP-19": "group content JSON: the client, which decodes the plaintext State.Open returns",
	"REC-20": "the chat_terminate answer to a record of an unknown session: the client",
}

// areas are the rule areas of the spec sections e2ee implements.
var areas = map[string]bool{"ENC": true, "KEY": true, "HS": true, "REC": true, "TRUST": true, "GRP": true, "VEC": true}

// TestRuleCoverage checks that every rule of spec §2, §3, §6, §7 and §8 is
// named by at least one test under impl/e2ee, or listed in notHere with the
// place that checks it.
func TestRuleCoverage(t *testing.T) {
	all, err := spec.Rules()
	if err != nil {
		t.Fatalf("parse spec: %v", err)
	}
	rules := map[string]bool{}
	for _, r := range all {
		if areas[r.Area] {
			rules[r.ID] = true
		}
	}
	named := testText(t)
	var missing []string
	for r := range rules {
		_, excused := notHere[r]
		mentioned := regexp.MustCompile(`\b` + r + `\b`).MatchString(named)
		if !mentioned && !excused {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		t.Errorf("rules no e2ee test names: %v", missing)
	}
	for r := range notHere {
		if !rules[r] {
			t.Errorf("notHere lists %s, which the spec does not have", r)
		}
	}
	t.Logf("%d rules: %d named by tests, %d checked elsewhere", len(rules), len(rules)-len(notHere), len(notHere))
}

// testText returns the text of every _test.go file under impl/e2ee except
// this one.
func testText(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") || path == "rules_test.go" {
			return err
		}
		data, err := os.ReadFile(path)
		b.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
