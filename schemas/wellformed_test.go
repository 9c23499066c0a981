package schemas

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"pgregory.net/rapid"
)

func TestCheckWellFormed(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name    string
		in      string
		keyword string // "" when well formed
		pointer string
	}{
		{"object", `{"type":"hello","user":"alice"}`, "", ""},
		{"surrounding whitespace", " \t\r\n{}\n ", "", ""},
		{"scalar is well formed", `"hello"`, "", ""},
		{"array is well formed", `[1,2,3]`, "", ""},
		{"same name in sibling objects", `{"a":{"x":1},"b":{"x":2}}`, "", ""},
		{"same name at two depths", `{"x":{"x":{"x":1}}}`, "", ""},
		{"exponent and fraction numbers", `{"n":3.0,"m":1e2,"k":-0}`, "", ""},
		{"escaped names that differ", `{"a":1,"\u0062":2}`, "", ""},
		{"32 levels", deep(32), "", ""},
		{"33 levels", deep(33), KeywordDepth, ""},
		{"33 levels inside an object", `{"a":` + deep(32) + `}`, KeywordDepth, ""},
		{"duplicate at top", `{"a":1,"a":2}`, KeywordDuplicateKey, "/a"},
		{"duplicate after unescaping", `{"a":1,"\u0061":2}`, KeywordDuplicateKey, "/a"},
		{"duplicate nested", `{"p":{"k":1,"k":1}}`, KeywordDuplicateKey, "/p/k"},
		{"duplicate inside an array", `{"m":[{"u":1},{"u":1,"u":2}]}`, KeywordDuplicateKey, "/m/1/u"},
		{"duplicate name needing escapes", `{"a/b~c":1,"a/b~c":2}`, KeywordDuplicateKey, "/a~1b~0c"},
		{"duplicate empty name", `{"":1,"":2}`, KeywordDuplicateKey, "/"},
		{"duplicate after a nested value", `{"a":{"b":[1,{"c":2}]},"a":3}`, KeywordDuplicateKey, "/a"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", KeywordUTF8, ""},
		{"truncated UTF-8", "{\"a\":\"\xe2\x82\"}", KeywordUTF8, ""},
		{"UTF-8 surrogate", "{\"a\":\"\xed\xb0\x80\"}", KeywordUTF8, ""},
		{"escaped surrogate pair (ENC-10)", `{"a":"\ud83d\ude00"}`, "", ""},
		{"escaped backslash before u is no escape", `{"a":"\\ud800"}`, "", ""},
		{"escaped lone high surrogate (ENC-10)", `{"a":"\ud800"}`, KeywordUTF8, ""},
		{"escaped high surrogate then text (ENC-10)", `{"a":"\uD800abcdef"}`, KeywordUTF8, ""},
		{"escaped lone low surrogate (ENC-10)", `{"a":"x\udc00"}`, KeywordUTF8, ""},
		{"escaped surrogate in a name (ENC-10)", `{"\udbff":1}`, KeywordUTF8, ""},
		{"two high surrogates (ENC-10)", `{"a":"\ud800\ud800"}`, KeywordUTF8, ""},
		{"empty", ``, KeywordSyntax, ""},
		{"whitespace only", "  ", KeywordSyntax, ""},
		{"truncated", `{"a":1`, KeywordSyntax, ""},
		{"trailing comma", `{"a":1,}`, KeywordSyntax, ""},
		{"missing colon", `{"a" 1}`, KeywordSyntax, ""},
		{"single quotes", `{'a':1}`, KeywordSyntax, ""},
		{"leading zero", `{"a":01}`, KeywordSyntax, ""},
		{"bad literal", `{"a":tru}`, KeywordSyntax, ""},
		{"raw newline in a string", "{\"a\":\"x\ny\"}", KeywordSyntax, ""},
		{"bad escape", `{"a":"\x"}`, KeywordSyntax, ""},
		{"byte order mark", "\ufeff{}", KeywordSyntax, ""},
		{"NaN", `{"a":NaN}`, KeywordSyntax, ""},
		{"second value", `{} {}`, KeywordTrailingData, ""},
		{"garbage after the value", `{"a":1}x`, KeywordTrailingData, ""},
		{"extra closing brace", `{"a":1}}`, KeywordTrailingData, ""},
		{"NUL after the value", "{}\x00", KeywordTrailingData, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckWellFormed([]byte(tc.in))
			if tc.keyword == "" {
				if err != nil {
					t.Fatalf("CheckWellFormed(%q) = %v, want nil", tc.in, err)
				}
				return
			}
			var wf *WellFormedError
			if !errors.As(err, &wf) {
				t.Fatalf("CheckWellFormed(%q) = %v, want a *WellFormedError", tc.in, err)
			}
			if wf.Keyword != tc.keyword || wf.Pointer != tc.pointer {
				t.Errorf("CheckWellFormed(%q) = %q %s, want %q %s", tc.in, wf.Pointer, wf.Keyword, tc.pointer, tc.keyword)
			}
			if !strings.HasPrefix(err.Error(), "schemas: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestCheckReportsWellFormednessFirst(t *testing.T) {
	// A duplicate member is reported as such even though the schema would also reject the value.
	vs, err := Check(ClientMessage, []byte(`{"type":"hello","type":"hello","bogus":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Keyword != KeywordDuplicateKey || vs[0].Pointer != "/type" {
		t.Errorf("got %v, want one duplicateKey at /type", vs)
	}
	if _, err := Check("no/such.json", []byte(`{}`)); err == nil || !strings.HasPrefix(err.Error(), "schemas: ") {
		t.Errorf("Check of a missing schema: %v", err)
	}
}

// jsonText draws the text of a JSON value nested at most depth levels: members and elements of
// every kind, names that may repeat, strings with escapes (\u ones included), numbers in every
// form JSON allows, and whitespace anywhere it may go.
func jsonText(t *rapid.T, depth int) string {
	ws := func() string { return rapid.SampledFrom([]string{"", "", " ", "\n\t"}).Draw(t, "ws") }
	str := func() string {
		return `"` + rapid.StringMatching(`([a-c ]|\\u00e9|\\u0061|\\n|\\"|\\\\|\\/|é|\\ud83d\\ude00){0,4}`).Draw(t, "s") + `"`
	}
	kinds := []string{"string", "number", "literal"}
	if depth > 0 {
		kinds = append(kinds, "object", "array")
	}
	switch rapid.SampledFrom(kinds).Draw(t, "kind") {
	case "string":
		return str()
	case "number":
		return rapid.StringMatching(`-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?`).Draw(t, "n")
	case "literal":
		return rapid.SampledFrom([]string{"true", "false", "null"}).Draw(t, "lit")
	case "object":
		var members []string
		for range rapid.IntRange(0, 4).Draw(t, "members") {
			name := `"` + rapid.SampledFrom([]string{"a", "b", "type", `\u0061`, ""}).Draw(t, "name") + `"`
			members = append(members, ws()+name+ws()+":"+ws()+jsonText(t, depth-1)+ws())
		}
		return "{" + strings.Join(members, ",") + ws() + "}"
	default:
		var elems []string
		for range rapid.IntRange(0, 4).Draw(t, "elems") {
			elems = append(elems, ws()+jsonText(t, depth-1)+ws())
		}
		return "[" + strings.Join(elems, ",") + ws() + "]"
	}
}

// TestDecodeWellFormed: the value Check validates, built while the text is checked, is the one
// jsonschema.UnmarshalJSON decodes from a well-formed text, and a text that is not well formed
// gets CheckWellFormed's error, whatever it is.
func TestDecodeWellFormed(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text := []byte(jsonText(t, 3))
		v, err := decodeWellFormed(text)
		if werr := CheckWellFormed(text); fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("%s: decodeWellFormed fails with %v, CheckWellFormed with %v", text, err, werr)
		}
		if err != nil {
			return
		}
		want, uerr := jsonschema.UnmarshalJSON(bytes.NewReader(text))
		if uerr != nil || !reflect.DeepEqual(v, want) {
			t.Fatalf("%s: built %#v; jsonschema.UnmarshalJSON gives %#v, %v", text, v, want, uerr)
		}
	})
}
