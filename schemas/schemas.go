// Package schemas embeds the JSON Schemas (draft 2020-12) that define the shape of every Blindpost
// message: wire messages in both directions (spec §5), end-to-end payloads and content (spec §6,
// §7) and the driver protocol (spec Appendix A).
//
// The schemas are the source of truth for the generated codec in impl/wire; Compile gives the
// independent reference validator (github.com/santhosh-tekuri/jsonschema/v6) that tests and the
// conformance runner use as an oracle. CheckWellFormed is the oracle's strict JSON reader (UTF-8,
// duplicate members, trailing data, depth: what no schema can say), and Check runs both and
// reports violations as a JSON pointer and a keyword. README.md describes the conventions and the
// test corpus in testdata/.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FS holds every schema file, at the paths they have under schemas/.
//
//go:embed *.json c2s driver e2e s2c
var FS embed.FS

// BaseURI is the prefix of every schema's $id; a schema's $id is BaseURI followed by its path.
const BaseURI = "https://blindpost.dev/schemas/v1/"

// The top-level schemas, one per stream of messages.
const (
	ClientMessage = "client-message.json" // client to server, dispatched on type
	ServerMessage = "server-message.json" // server to client, dispatched on type
	Payload       = "e2e/payload.json"    // relay payloads, dispatched on kind
	Content       = "e2e/content.json"    // plaintext of records and group messages
	Receipt       = "e2e/receipt.json"    // plaintext of a 1:1 record that is a delivery receipt
	EpochAck      = "e2e/epoch_ack.json"  // plaintext of a group message that acknowledges an epoch
	Commit        = "e2e/commit.json"     // group commits
	GroupMsg      = "e2e/group_msg.json"  // group messages
	DriverCommand = "driver/command.json" // driver commands, harness to client, dispatched on cmd
	DriverOutput  = "driver/output.json"  // driver responses and events, client to harness
)

var (
	loadOnce sync.Once
	compiler *jsonschema.Compiler
	loadErr  error
	mu       sync.Mutex
	compiled = map[string]*jsonschema.Schema{}
)

// Paths lists every schema file in FS, in lexical order.
func Paths() ([]string, error) {
	var paths []string
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json") {
			paths = append(paths, p)
		}
		return nil
	})
	return paths, err
}

func load() {
	compiler = jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	compiler.UseRegexpEngine(compilePattern)
	paths, err := Paths()
	if err != nil {
		loadErr = fmt.Errorf("schemas: list: %w", err)
		return
	}
	for _, p := range paths {
		raw, err := FS.ReadFile(p)
		if err != nil {
			loadErr = fmt.Errorf("schemas: read %s: %w", p, err)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			loadErr = fmt.Errorf("schemas: parse %s: %w", p, err)
			return
		}
		if err := compiler.AddResource(BaseURI+p, doc); err != nil {
			loadErr = fmt.Errorf("schemas: add %s: %w", p, err)
			return
		}
	}
}

// Compile returns the reference validator for the schema at path (for example ClientMessage or
// "c2s/hello.json"). Results are cached; Compile is safe for concurrent use.
func Compile(path string) (*jsonschema.Schema, error) {
	loadOnce.Do(load)
	if loadErr != nil {
		return nil, loadErr
	}
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[path]; ok {
		return s, nil
	}
	s, err := compiler.Compile(BaseURI + path)
	if err != nil {
		return nil, fmt.Errorf("schemas: compile %s: %w", path, err)
	}
	compiled[path] = s
	return s, nil
}
