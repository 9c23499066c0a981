package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// addedRequest is a client request that the real schemas do not have, with a member whose
// definition is new too: what a change of the protocol that adds a message writes in schemas/.
const addedRequest = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://blindpost.dev/schemas/v1/c2s/ping.json",
  "title": "Ping",
  "description": "A request added by the test.",
  "type": "object",
  "properties": {
    "type": {"const": "ping"},
    "id": {"$ref": "../defs.json#/$defs/id"},
    "token": {"$ref": "../defs.json#/$defs/token"}
  },
  "required": ["type", "token"],
  "additionalProperties": false
}`

// addedRequestTest is compiled into the generated package: the new message is a Request, is
// listed by RequestTypes, decodes, may be named by an error's for member, and its new
// definition has an exported matcher.
const addedRequestTest = `package wire

import (
	"slices"
	"testing"
)

func TestAddedRequest(t *testing.T) {
	var r Request = &Ping{ID: "p1", Token: "abc"}
	if r.RequestType() != RequestTypePing || r.RequestID() != "p1" || r.MessageType() != "ping" {
		t.Errorf("Ping: type %q, id %q, message type %q", r.RequestType(), r.RequestID(), r.MessageType())
	}
	if !slices.Contains(RequestTypes(), RequestTypePing) {
		t.Errorf("RequestTypes() = %v, without ping", RequestTypes())
	}
	m, err := Decode(FromClient, []byte(` + "`" + `{"type":"ping","id":"p1","token":"abc"}` + "`" + `))
	if p, ok := m.(*Ping); err != nil || !ok || p.Token != "abc" {
		t.Errorf("Decode: %#v, %v", m, err)
	}
	if _, err := Encode(&ErrorMessage{Code: ErrorCodeBadMessage, Message: "m", For: RequestTypePing}); err != nil {
		t.Errorf("an error for ping: %v", err)
	}
	if !ValidToken("abc") || ValidToken("ABC") || ValidToken("") {
		t.Error("ValidToken does not follow the pattern of defs.json#/$defs/token")
	}
}
`

// TestAddRequest shows what adding a client request takes in impl/wire: the schemas alone. It
// adds c2s/ping.json (with a new definition) to the real schemas, names it in
// client-message.json and in request_type, generates, and builds and tests the generated files
// with the hand-written files of impl/wire unchanged: the new type implements Request, is listed
// by RequestTypes (which the dispatchers' tests iterate over) and its definition has a Valid
// function, with no list in impl/wire edited by hand.
func TestAddRequest(t *testing.T) {
	schemasFS := withAddedRequest(t, os.DirFS("../../../../schemas"))
	files, err := Generate(schemasFS)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["c2s_ping_gen.go"]; !ok {
		t.Fatal("no c2s_ping_gen.go generated")
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hand, err := filepath.Glob("../../*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range hand {
		if strings.HasSuffix(f, "_gen.go") || strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		write(filepath.Base(f), data)
	}
	for name, data := range files {
		write(name, data)
	}
	write("added_test.go", []byte(addedRequestTest))
	write("go.mod", []byte("module example.com/wire\n\ngo 1.26\n"))
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the generated package: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), goTool, "test", "-count=1", "-run", "TestAddedRequest", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the package generated with the added request fails: %v\n%s", err, out)
	}
}

// withAddedRequest returns the codec's schemas of real with c2s/ping.json added, dispatched on
// by client-message.json and listed in defs.json's request_type, and its definition token.
func withAddedRequest(t *testing.T, real fs.FS) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	for _, dir := range append([]string{"."}, schemaDirs...) {
		entries, err := fs.ReadDir(real, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			p := path.Join(dir, e.Name())
			data, err := fs.ReadFile(real, p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = &fstest.MapFile{Data: data}
		}
	}
	edit := func(p string, change func(map[string]any)) {
		t.Helper()
		var doc map[string]any
		if err := json.Unmarshal(out[p].Data, &doc); err != nil {
			t.Fatal(err)
		}
		change(doc)
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = &fstest.MapFile{Data: data}
	}
	obj := func(v any, keys ...string) map[string]any {
		m := v.(map[string]any)
		for _, k := range keys {
			m = m[k].(map[string]any)
		}
		return m
	}
	edit("client-message.json", func(doc map[string]any) {
		typ := obj(doc, "properties", "type")
		typ["enum"] = append(typ["enum"].([]any), "ping")
		var branch map[string]any
		if err := json.Unmarshal([]byte(`{"if": {"properties": {"type": {"const": "ping"}}, "required": ["type"]}, "then": {"$ref": "c2s/ping.json"}}`), &branch); err != nil {
			t.Fatal(err)
		}
		doc["allOf"] = append(doc["allOf"].([]any), branch)
	})
	edit("defs.json", func(doc map[string]any) {
		defs := obj(doc, "$defs")
		rt := obj(defs, "request_type")
		rt["enum"] = append(rt["enum"].([]any), "ping")
		defs["token"] = map[string]any{"type": "string", "pattern": "^[a-z]{1,8}$"}
	})
	out["c2s/ping.json"] = &fstest.MapFile{Data: []byte(addedRequest)}
	return out
}
