package vectors

import (
	"encoding/json"
	"testing"
)

// TestHexJSON checks that Hex reads only what it writes: lowercase hex
// digits in an even number, in a JSON string.
func TestHexJSON(t *testing.T) {
	out, err := json.Marshal(Hex{0x00, 0xab, 0xff})
	if err != nil || string(out) != `"00abff"` {
		t.Fatalf("marshal: %s, %v", out, err)
	}
	var h Hex
	if err := json.Unmarshal([]byte(`""`), &h); err != nil || len(h) != 0 {
		t.Fatalf("empty: %x, %v", h, err)
	}
	for _, bad := range []string{`"00AB"`, `"0"`, `"0g"`, `"00 ab"`, `12`, `null`, `["00"]`} {
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestSchemas checks that every family's schema, as generated from its Go
// types, compiles as draft 2020-12 and that every family is found by name.
func TestSchemas(t *testing.T) {
	for _, f := range Families() {
		if _, ok := Lookup(f.Name); !ok {
			t.Errorf("%s: not found by name", f.Name)
		}
		if _, err := Schema(f); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		if _, err := CompileSchema(f.Name); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
}
