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

// addedAnswer is a server message that answers the added request.
const addedAnswer = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://blindpost.dev/schemas/v1/s2c/pong.json",
  "title": "Pong",
  "description": "A server message added by the test.",
  "type": "object",
  "properties": {
    "type": {"const": "pong"},
    "id": {"$ref": "../defs.json#/$defs/id"}
  },
  "required": ["type"],
  "additionalProperties": false
}`

// addedRequestTest is compiled into the generated package: the new request is a Request, is
// listed by RequestTypes, decodes, may be named by an error's for member, and its new
// definition has an exported matcher; the new server message is a Response listed by
// ServerMessageTypes and ResponseTypes.
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
	var a Response = &Pong{ID: "p1"}
	if a.RequestID() != "p1" || !slices.Contains(ServerMessageTypes(), "pong") || !slices.Contains(ResponseTypes(), "pong") {
		t.Errorf("Pong: id %q, server message types %v, response types %v", a.RequestID(), ServerMessageTypes(), ResponseTypes())
	}
	if m, err := Decode(FromServer, []byte(` + "`" + `{"type":"pong","id":"p1"}` + "`" + `)); err != nil || m.(*Pong).ID != "p1" {
		t.Errorf("Decode: %#v, %v", m, err)
	}
}
`

// TestAddMessage shows what adding messages takes in impl/wire: the schemas alone. It adds a
// request, c2s/ping.json (with a new definition), and its answer, s2c/pong.json, to the real
// schemas, names them in client-message.json, request_type and server-message.json, generates,
// and builds and tests the generated files with the hand-written files of impl/wire unchanged:
// the request implements Request and is listed by RequestTypes (which the dispatchers' tests
// iterate over), its definition has a Valid function, and the answer is a Response listed by
// ServerMessageTypes and ResponseTypes, with no list in impl/wire edited by hand.
func TestAddMessage(t *testing.T) {
	schemasFS := withAddedMessages(t, os.DirFS("../../../../schemas"))
	files, err := Generate(schemasFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"c2s_ping_gen.go", "s2c_pong_gen.go"} {
		if _, ok := files[name]; !ok {
			t.Fatalf("no %s generated", name)
		}
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

// withAddedMessages returns the codec's schemas of real with c2s/ping.json added, dispatched on
// by client-message.json and listed in defs.json's request_type, its definition token, and
// s2c/pong.json, dispatched on by server-message.json.
func withAddedMessages(t *testing.T, real fs.FS) fstest.MapFS {
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
	dispatch := func(stream, typ, target string) {
		t.Helper()
		edit(stream, func(doc map[string]any) {
			disc := obj(doc, "properties", "type")
			disc["enum"] = append(disc["enum"].([]any), typ)
			var branch map[string]any
			if err := json.Unmarshal([]byte(`{"if": {"properties": {"type": {"const": "`+typ+`"}}, "required": ["type"]}, "then": {"$ref": "`+target+`"}}`), &branch); err != nil {
				t.Fatal(err)
			}
			doc["allOf"] = append(doc["allOf"].([]any), branch)
		})
	}
	dispatch("client-message.json", "ping", "c2s/ping.json")
	dispatch("server-message.json", "pong", "s2c/pong.json")
	edit("defs.json", func(doc map[string]any) {
		defs := obj(doc, "$defs")
		rt := obj(defs, "request_type")
		rt["enum"] = append(rt["enum"].([]any), "ping")
		defs["token"] = map[string]any{"type": "string", "pattern": "^[a-z]{1,8}$"}
	})
	out["c2s/ping.json"] = &fstest.MapFile{Data: []byte(addedRequest)}
	out["s2c/pong.json"] = &fstest.MapFile{Data: []byte(addedAnswer)}
	return out
}
