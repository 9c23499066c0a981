package gen

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/blindpost/blindpost/spec"
	"github.com/blindpost/blindpost/vectors"
)

// nameRules fills in the rules member of the header of v, a family's root value: VEC-1, which
// every vector file is there to satisfy (spec §8), then every rule that a vector of the file
// names in a rule or rules member, in the order of the spec.
func nameRules(v any) {
	h, ok := v.(interface{ Header() *vectors.Meta })
	if !ok {
		fail("%T has no vector file header", v)
	}
	h.Header().Rules = nil
	var doc any
	if err := json.Unmarshal(marshal(v), &doc); err != nil {
		fail("rules: %w", err)
	}
	named := map[string]bool{}
	collectRules(doc, true, named)
	all, err := spec.Rules()
	if err != nil {
		fail("rules: %w", err)
	}
	out := []string{"VEC-1"}
	for _, r := range all {
		if named[r.ID] && r.ID != "VEC-1" {
			out = append(out, r.ID)
			delete(named, r.ID)
		}
	}
	delete(named, "VEC-1")
	check(len(named) == 0, "vectors name rules the spec does not have: %v", slices.Sorted(maps.Keys(named)))
	h.Header().Rules = out
}

// collectRules adds to named the rule ids of every rule and rules member below the root of doc.
func collectRules(doc any, root bool, named map[string]bool) {
	switch d := doc.(type) {
	case map[string]any:
		for k, v := range d {
			switch {
			case root && k == "rules":
			case k == "rule":
				if s, ok := v.(string); ok && s != "" {
					named[s] = true
				}
			case k == "rules":
				list, _ := v.([]any)
				for _, r := range list {
					if s, ok := r.(string); ok {
						named[s] = true
					}
				}
			default:
				collectRules(v, false, named)
			}
		}
	case []any:
		for _, v := range d {
			collectRules(v, false, named)
		}
	}
}
