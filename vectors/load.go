package vectors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/blindpost/blindpost/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// modulePath is the module whose vectors directory Dir finds.
const modulePath = "github.com/blindpost/blindpost"

// SchemaBaseURI is the prefix of the $id of every vector schema.
const SchemaBaseURI = "https://blindpost.dev/vectors/v1/"

// Dir returns the vectors directory of the module that holds the current
// directory, as go test runs a package's tests from inside the module.
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("vectors: %w", err)
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, []byte("module "+modulePath+"\n")) {
			return filepath.Join(dir, "vectors"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("vectors: no go.mod of %s above the current directory", modulePath)
		}
		dir = parent
	}
}

// Read returns the text of the vector file of family name. A missing file
// is an error, never an empty set of vectors.
func Read(name string) ([]byte, error) {
	f, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("vectors: unknown family %q", name)
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, f.File()))
	if err != nil {
		return nil, fmt.Errorf("vectors: %w", err)
	}
	return data, nil
}

// Load reads the vector file of family name into v, a pointer to the
// family's root type, as strictly as a reader in another language should:
//
//  1. the text is well formed (UTF-8, no duplicate member, no trailing data:
//     schemas.CheckWellFormed);
//  2. it validates against the family's schema file next to it;
//  3. it decodes into v with every unknown member refused, at every depth;
//  4. its family member names the family.
func Load(name string, v any) error {
	data, err := Read(name)
	if err != nil {
		return err
	}
	if err := Validate(name, data); err != nil {
		return err
	}
	if err := Decode(data, v); err != nil {
		return fmt.Errorf("vectors: %s: %w", name, err)
	}
	if m, ok := v.(interface{ Header() *Meta }); ok && m.Header().Family != name {
		return fmt.Errorf("vectors: %s: family member is %q", name, m.Header().Family)
	}
	return nil
}

// Decode decodes data into v, refusing unknown members and trailing data.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("vectors: decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("vectors: decode: data after the top-level value")
	}
	return nil
}

// Validate checks that data is well formed and valid against the schema
// file of family name.
func Validate(name string, data []byte) error {
	if err := schemas.CheckWellFormed(data); err != nil {
		return fmt.Errorf("vectors: %s: %w", name, err)
	}
	sch, err := CompileSchema(name)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("vectors: %s: %w", name, err)
	}
	if err := sch.Validate(inst); err != nil {
		var b strings.Builder
		for _, v := range schemas.Violations(err) {
			fmt.Fprintf(&b, "\n\t%s", v)
		}
		return fmt.Errorf("vectors: %s does not match %s:%s", name, name+".schema.json", b.String())
	}
	return nil
}

// CompileSchema compiles the schema file of family name from the vectors
// directory.
func CompileSchema(name string) (*jsonschema.Schema, error) {
	f, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("vectors: unknown family %q", name)
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, f.Schema))
	if err != nil {
		return nil, fmt.Errorf("vectors: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("vectors: %s: %w", f.Schema, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := SchemaBaseURI + f.Schema
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("vectors: %s: %w", f.Schema, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("vectors: compile %s: %w", f.Schema, err)
	}
	return sch, nil
}
