package schemas

import (
	"encoding/json"
	"errors"
	"io"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/spec"
)

// exampleTags maps the info string of a JSON code fence in spec/protocol.md (```json TAG) to the
// top-level schema its examples must validate against.
var exampleTags = map[string]string{
	"c2s":            ClientMessage,
	"s2c":            ServerMessage,
	"payload":        Payload,
	"content":        Content,
	"receipt":        Receipt,
	"epoch-ack":      EpochAck,
	"commit":         Commit,
	"driver-command": DriverCommand,
	"driver-output":  DriverOutput,
}

// example is the body of one tagged code fence of the spec.
type example struct {
	line int // of the opening fence, 1-based
	tag  string
	body string
}

// specExamples returns every fenced block with an info string. Fences without one hold formulas
// and sample transcripts, not examples.
func specExamples(text string) []example {
	var (
		out  []example
		cur  *example
		body []string
	)
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "```") {
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		if cur != nil {
			cur.body = strings.Join(body, "\n")
			out = append(out, *cur)
			cur, body = nil, nil
			continue
		}
		info := strings.TrimSpace(strings.TrimPrefix(line, "```"))
		if info == "" {
			cur = &example{line: i + 1, tag: ""} // a plain block; kept only to find its end
			continue
		}
		cur = &example{line: i + 1, tag: info}
	}
	var tagged []example
	for _, e := range out {
		if e.tag != "" {
			tagged = append(tagged, e)
		}
	}
	return tagged
}

func TestSpecExamples(t *testing.T) {
	examples := specExamples(spec.Protocol)
	if len(examples) == 0 {
		t.Fatal("no tagged JSON examples found in spec/protocol.md")
	}
	perTag := map[string]int{}
	for _, e := range examples {
		lang, tag, _ := strings.Cut(e.tag, " ")
		schema, ok := exampleTags[tag]
		if lang != "json" || !ok {
			t.Errorf("protocol.md:%d: unknown code fence tag %q; use ```json followed by one of %v", e.line, e.tag, sortedKeys(exampleTags))
			continue
		}
		dec := json.NewDecoder(strings.NewReader(e.body))
		n := 0
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("protocol.md:%d: %v", e.line, err)
				break
			}
			n++
			vs, err := Check(schema, raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) > 0 {
				t.Errorf("protocol.md:%d: example %d fails %s: %v\n%s", e.line, n, schema, vs, compact(raw))
			}
		}
		if n == 0 {
			t.Errorf("protocol.md:%d: empty example", e.line)
		}
		perTag[tag] += n
	}
	t.Logf("validated spec examples per tag: %v", perTag)
}

// messageTable is one of the two tables of spec §5.1: type -> schema path.
type messageTable struct {
	dir  string // "c2s" or "s2c"
	rows map[string]string
}

var inlineCodeRe = regexp.MustCompile("`([^`]*)`")

// specMessageTables parses the two tables of §5.1, identified by the sentence before each.
func specMessageTables(t *testing.T) []messageTable {
	t.Helper()
	text := spec.Protocol
	start := strings.Index(text, "### 5.1 ")
	end := strings.Index(text, "### 5.2 ")
	if start < 0 || end < start {
		t.Fatal("spec §5.1 not found")
	}
	var (
		tables []messageTable
		cur    *messageTable
		cols   []string
	)
	for _, line := range strings.Split(text[start:end], "\n") {
		switch {
		case line == "Client to server:":
			tables = append(tables, messageTable{dir: "c2s", rows: map[string]string{}})
			cur, cols = &tables[len(tables)-1], nil
		case line == "Server to client:":
			tables = append(tables, messageTable{dir: "s2c", rows: map[string]string{}})
			cur, cols = &tables[len(tables)-1], nil
		case cur != nil && strings.HasPrefix(line, "|---"):
		case cur != nil && strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if cols == nil {
				cols = cells
				continue
			}
			typ, schema := cell(cols, cells, "`type`"), cell(cols, cells, "schema")
			typ = strings.Trim(typ, "`")
			if m := inlineCodeRe.FindStringSubmatch(schema); m != nil {
				schema = m[1]
			}
			if typ == "" || schema == "" {
				t.Errorf("spec §5.1 %s table: row %q lacks a type or a schema", cur.dir, line)
				continue
			}
			cur.rows[typ] = schema
		}
	}
	if len(tables) != 2 {
		t.Fatalf("spec §5.1: found %d message tables, want 2", len(tables))
	}
	return tables
}

func cell(cols, cells []string, name string) string {
	for i, c := range cols {
		if c == name && i < len(cells) {
			return cells[i]
		}
	}
	return ""
}

// TestSpecMessageTables checks that every type of the §5.1 tables has the schema the table names,
// with that type as its const, and that every wire message schema is in a table.
func TestSpecMessageTables(t *testing.T) {
	docs := loadSchemaDocs(t)
	listed := map[string]bool{}
	for _, table := range specMessageTables(t) {
		if len(table.rows) == 0 {
			t.Errorf("spec §5.1 %s table is empty", table.dir)
		}
		for typ, p := range table.rows {
			listed[p] = true
			if path.Dir(p) != table.dir {
				t.Errorf("spec §5.1: %s names %s, which is not in %s/", typ, p, table.dir)
			}
			doc, ok := docs[p]
			if !ok {
				t.Errorf("spec §5.1: %s names %s, which does not exist", typ, p)
				continue
			}
			props, _ := doc["properties"].(map[string]any)
			typeSchema, _ := props["type"].(map[string]any)
			if c, _ := typeSchema["const"].(string); c != typ {
				t.Errorf("spec §5.1: %s has type const %q, want %q", p, c, typ)
			}
		}
	}
	for p := range docs {
		if d := path.Dir(p); (d == "c2s" || d == "s2c") && !listed[p] {
			t.Errorf("%s is not in the spec §5.1 tables", p)
		}
	}
}

var schemaRefRe = regexp.MustCompile("`(?:schemas/)?((?:c2s/|s2c/|e2e/|driver/)?[a-z0-9_-]+\\.json)`")

// TestSpecReferencesEverySchema checks that spec/protocol.md names every schema file (defs.json
// excepted), and that every schema path it names exists.
func TestSpecReferencesEverySchema(t *testing.T) {
	docs := loadSchemaDocs(t)
	named := map[string]bool{}
	for _, m := range schemaRefRe.FindAllStringSubmatch(spec.Protocol, -1) {
		named[m[1]] = true
	}
	for p := range docs {
		if p != defsPath && !named[p] {
			t.Errorf("spec/protocol.md does not name schema %s", p)
		}
	}
	for p := range named {
		if _, ok := docs[p]; !ok && strings.Contains(p, "/") {
			t.Errorf("spec/protocol.md names %s, which is not a schema", p)
		}
	}
	for _, m := range regexp.MustCompile("`schemas/([^`]+)`").FindAllStringSubmatch(spec.Protocol, -1) {
		if _, ok := docs[m[1]]; !ok {
			t.Errorf("spec/protocol.md names schemas/%s, which does not exist", m[1])
		}
	}
}
