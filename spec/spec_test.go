package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/schemas"
)

func TestRules(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatal("no rules in protocol.md")
	}
	count := map[Level]int{}
	areas := map[string]int{}
	for _, r := range rules {
		count[r.Level]++
		areas[r.Area]++
		if r.Section == "" {
			t.Errorf("%s (line %d) is under no numbered section", r.ID, r.Line)
		}
	}
	if len(Index(rules)) != len(rules) {
		t.Errorf("Index has %d entries for %d rules", len(Index(rules)), len(rules))
	}
	t.Logf("%d rules: %d MUST, %d SHOULD, in %d areas", len(rules), count[Must], count[Should], len(areas))
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		want    []Rule // ID, Area, Level and Section are compared
		wantErr string // a substring of the error, "" for none
	}{
		{
			name: "rules and sections",
			text: "## 2. Encodings\n\n### 2.1 Enc\n\n- **[ENC-1]** A sender MUST encode.\n- **[ENC-2]** A sender SHOULD NOT pad.\n" +
				"## Appendix A. Driver\n\n### A.2 Events\n\n- **[DRV-7]** A driver MUST NOT lie and SHOULD be brief.\n",
			want: []Rule{
				{ID: "ENC-1", Area: "ENC", Level: Must, Section: "2.1"},
				{ID: "ENC-2", Area: "ENC", Level: Should, Section: "2.1"},
				{ID: "DRV-7", Area: "DRV", Level: Must, Section: "A.2"},
			},
		},
		{
			name:    "duplicate id",
			text:    "- **[REG-1]** The server MUST answer.\n- **[REG-1]** The server MUST also answer.\n",
			want:    []Rule{{ID: "REG-1", Area: "REG", Level: Must}},
			wantErr: "rule REG-1 already defined on line 1",
		},
		{
			name:    "leading zero",
			text:    "- **[REG-01]** The server MUST answer.\n",
			wantErr: `malformed rule id "REG-01"`,
		},
		{
			name:    "lower-case area",
			text:    "- **[reg-1]** The server MUST answer.\n",
			wantErr: `rule id "reg-1" is not at the start of a list item or is malformed`,
		},
		{
			name:    "id mid-sentence",
			text:    "As **[REG-2]** says, the server answers.\n",
			wantErr: `rule id "REG-2" is not at the start of a list item`,
		},
		{
			name:    "requirement word outside a rule",
			text:    "The server MUST answer hello.\n",
			wantErr: "line 1: requirement word MUST outside a rule",
		},
		{
			name:    "SHALL outside a rule",
			text:    "- a plain item that SHALL not pass\n",
			wantErr: "requirement word SHALL outside a rule",
		},
		{
			name:    "rule without a requirement word",
			text:    "- **[REG-3]** The server may answer.\n",
			wantErr: "rule REG-3 has no MUST or SHOULD",
		},
		{
			name:    "requirement word only in inline code",
			text:    "- **[REG-4]** The server sends `MUST`.\n",
			wantErr: "rule REG-4 has no MUST or SHOULD",
		},
		{
			name: "code fences ignored",
			text: "```\nThe server MUST answer. **[REG-5]**\n- **[REG-6]** The server MUST answer.\n```\n",
		},
		{
			name: "inline code and the conventions sentence ignored",
			text: "The words MUST, MUST NOT, SHOULD, SHOULD NOT and MAY are used as RFC 2119 says.\nA label `MUST` is text.\n",
		},
		{
			name:    "several problems reported at once",
			text:    "The server MUST answer.\n- **[REG-7]** nothing\n",
			wantErr: "spec: 2 problems",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := Parse(tc.text)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Parse error = %v, want one containing %q", err, tc.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "spec: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(rules) != len(tc.want) {
				t.Fatalf("got %d rules %+v, want %d", len(rules), rules, len(tc.want))
			}
			for i, w := range tc.want {
				g := rules[i]
				if g.ID != w.ID || g.Area != w.Area || g.Level != w.Level || g.Section != w.Section {
					t.Errorf("rule %d = {%s %s %s %s}, want {%s %s %s %s}", i, g.ID, g.Area, g.Level, g.Section, w.ID, w.Area, w.Level, w.Section)
				}
			}
		})
	}
}

// TestRuleIDSyntaxIsTheSchemas checks that the rule id syntax of spec §1.1, which this package
// keeps as a regexp (it cannot import impl/wire, whose tests import it), is exactly the pattern
// of schemas/defs.json#/$defs/rule_id that wire.ValidRuleID and the conformance tools use.
func TestRuleIDSyntaxIsTheSchemas(t *testing.T) {
	data, err := schemas.FS.ReadFile("defs.json")
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Defs map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &defs); err != nil {
		t.Fatal(err)
	}
	if got, want := validID.String(), defs.Defs["rule_id"].Pattern; got != want {
		t.Errorf("spec's rule id syntax %s, schemas/defs.json#/$defs/rule_id %s", got, want)
	}
}
