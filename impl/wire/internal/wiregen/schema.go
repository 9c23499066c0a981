package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// baseURI is the prefix of every schema's $id (schemas.BaseURI); a schema's $id must be baseURI
// followed by its path, so that relative references resolve as file paths.
const baseURI = "https://blindpost.dev/schemas/v1/"

// schemaDirs are the directories whose schemas describe wire messages and end-to-end payloads.
// driver/ (the test harness protocol) and testdata/ are not part of the codec.
var schemaDirs = []string{"c2s", "s2c", "e2e"}

// loadSchemas reads the top-level schemas and those of schemaDirs, keyed by slash path.
func loadSchemas(fsys fs.FS) (map[string]*node, []string, error) {
	files := map[string]*node{}
	var paths []string
	add := func(p string) error {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		n, err := parseJSON(data)
		if err != nil {
			return fmt.Errorf("schemas/%s: %w", p, err)
		}
		files[p] = n
		paths = append(paths, p)
		return nil
	}
	for _, dir := range append([]string{"."}, schemaDirs...) {
		entries, err := fs.ReadDir(fsys, dir)
		if errors.Is(err, fs.ErrNotExist) && dir != "." {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			if err := add(path.Join(dir, e.Name())); err != nil {
				return nil, nil, err
			}
		}
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no schemas found")
	}
	return files, paths, nil
}

// The keywords wiregen understands. Anything else in a schema is an error: the generated codec
// must enforce everything the schemas say, so an unknown keyword cannot be ignored.
var (
	annotationKeywords = []string{"$schema", "$id", "title", "description"}
	objectKeywords     = []string{"type", "properties", "required", "additionalProperties"}
	stringKeywords     = []string{"type", "pattern", "minLength", "maxLength"}
	integerKeywords    = []string{"type", "minimum", "maximum"}
	arrayKeywords      = []string{"type", "items", "minItems", "maxItems", "uniqueItems"}
)

// checkKeys fails when schema n has a member outside the allowed keywords.
func checkKeys(loc string, n *node, allowed ...[]string) error {
	for _, k := range n.keys {
		ok := slices.Contains(annotationKeywords, k)
		for _, set := range allowed {
			ok = ok || slices.Contains(set, k)
		}
		if !ok {
			return fmt.Errorf("%s: keyword %q is not supported here", loc, k)
		}
	}
	for _, k := range []string{"title", "description", "$schema", "$id"} {
		if v := n.get(k); v != nil && v.kind != kindString {
			return fmt.Errorf("%s: %s must be a string", loc, k)
		}
	}
	return nil
}

// shapeKind is the Go representation of a schema value.
type shapeKind int

const (
	shapeString shapeKind = iota
	shapeBytes
	shapeInt
	shapeBool
	shapeConst
	shapeEnum
	shapeStruct
	shapeUnion
	shapeArray
)

// shape is what the generated code does with one schema value.
type shape struct {
	kind     shapeKind
	loc      string     // schema location, for messages
	doc      string     // the first description found along the references
	str      *strCheck  // shapeString: nil when the string is unconstrained
	b64      *b64Format // shapeBytes
	min, max int64      // shapeInt
	constVal string     // shapeConst
	enum     *enumType  // shapeEnum
	st       *structType
	union    *unionType
	items    *shape // shapeArray
	minItems int    // shapeArray, -1 when absent
	maxItems int    // shapeArray, -1 when absent
	unique   bool   // shapeArray
}

// strCheck is a generated check function for a constrained string.
type strCheck struct {
	fn      string // checkUsername
	loc     string
	file    string // the generated file it goes into
	minLen  int    // -1 when absent
	maxLen  int    // -1 when absent
	pattern string // "" when absent
	dfa     *dfaTable
	dfaName string // patUsername
	ascii   bool   // the pattern only matches ASCII, so a match implies valid UTF-8
}

// enumType is a named string type with a constant per value.
type enumType struct {
	name   string
	doc    string
	loc    string
	file   string
	values []string
	consts []string
}

// structType is a generated struct for an object schema.
type structType struct {
	name      string
	doc       string
	loc       string
	file      string
	props     []string // every member name, discriminator included, in schema order
	required  []bool   // by props
	fields    []*field
	discName  string // the const member a dispatching schema selects on ("type", "kind")
	discValue string
	discBit   int
	union     *unionType // the union it belongs to, when it is a payload
	message   bool       // a top-level message (implements Message)
	request   *enumType  // the type enum of the requests, when it is one (implements Request)
	response  bool       // a message of responseSchema with an id (implements Response)
}

// field is one struct field.
type field struct {
	json     string
	goName   string
	doc      string
	required bool
	bit      int // index in structType.props
	sh       *shape
}

// unionType is an interface implemented by the targets of a dispatching schema below the top
// level (the relay payload).
type unionType struct {
	name     string
	doc      string
	file     string
	disc     string
	method   string // PayloadKind
	branches []*structType
}

// dispatcher is a top-level message schema dispatching on its discriminator.
type dispatcher struct {
	file     string
	name     string // ClientMessage
	doc      string
	disc     string
	branches []*structType
	request  *enumType     // requestSchema: the enum of requestTypeDef, whose values are the branches'
	answers  []*structType // responseSchema: the branches with an id, which answer a request
}

// requestSchema is the top-level schema of client requests (spec §5.1): each one is answered
// and carries an optional id that the answer echoes. Its messages implement the generated Request
// interface, and requestTypeDef, the enum of defs.json that names their types (the "for" of an
// error), must list exactly the values requestSchema dispatches on, in its order, so that the
// two lists in the schemas cannot drift apart.
//
// responseSchema is the top-level schema of server messages: those of its messages that have an
// id member answer a request (spec §5.1) and implement the generated Response interface.
const (
	requestSchema  = "client-message.json"
	requestTypeDef = "request_type"
	responseSchema = "server-message.json"
)

// validator is an exported matcher for a string definition of defs.json: Valid<Name>.
type validator struct {
	fn    string // ValidUsername
	loc   string
	doc   string
	check *strCheck
}

// model is everything that is generated.
type model struct {
	files       map[string]*node
	paths       []string
	structs     map[string]*structType // by location
	structList  []*structType
	enums       map[string]*enumType
	enumList    []*enumType
	checks      map[string]*strCheck
	checkList   []*strCheck
	unions      map[string]*unionType // by file
	unionList   []*unionType
	dispatchers []*dispatcher
	validators  []*validator
	defShapes   map[string]*shape
	goNames     map[string]string // Go identifier -> location that claimed it
}

// buildModel checks every schema and builds the model of the code to generate.
func buildModel(files map[string]*node, paths []string) (*model, error) {
	m := &model{
		files:     files,
		paths:     paths,
		structs:   map[string]*structType{},
		enums:     map[string]*enumType{},
		checks:    map[string]*strCheck{},
		unions:    map[string]*unionType{},
		defShapes: map[string]*shape{},
		goNames:   map[string]string{},
	}
	for _, p := range paths {
		root := files[p]
		if root.kind != kindObject {
			return nil, fmt.Errorf("schemas/%s: not a schema object", p)
		}
		if id := root.get("$id"); id == nil || id.str != baseURI+p {
			return nil, fmt.Errorf("schemas/%s: $id must be %q", p, baseURI+p)
		}
		if s := root.get("$schema"); s == nil || s.str != "https://json-schema.org/draft/2020-12/schema" {
			return nil, fmt.Errorf("schemas/%s: $schema must be draft 2020-12", p)
		}
	}
	// Dispatching schemas first, so that their targets know their discriminator: the nested
	// ones (unions such as the relay payload) before the top-level message streams that use them.
	for _, top := range []bool{false, true} {
		for _, p := range paths {
			if files[p].get("allOf") != nil && (path.Dir(p) == ".") == top {
				if err := m.dispatch(p); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, p := range paths {
		root := files[p]
		switch {
		case p == "defs.json":
			if err := checkKeys("schemas/"+p, root, []string{"$defs"}); err != nil {
				return nil, err
			}
			// Every definition must be supported, used or not.
			defs := root.get("$defs")
			if defs == nil || defs.kind != kindObject {
				return nil, fmt.Errorf("schemas/defs.json: no $defs")
			}
			for _, name := range defs.keys {
				sh, err := m.defShape(p, name)
				if err != nil {
					return nil, err
				}
				if err := m.addValidator(p, name, sh); err != nil {
					return nil, err
				}
			}
		case root.get("allOf") != nil:
			// done above
		default:
			if _, err := m.structOf(p, p, root, ""); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range m.dispatchers {
		if err := m.streamAPI(d); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// streamAPI records what the top-level schema d gives other packages: the Request interface and
// RequestTypes for requestSchema, <Title>Types for the others, and the Response interface and
// ResponseTypes for responseSchema's messages with an id.
func (m *model) streamAPI(d *dispatcher) error {
	loc := "schemas/" + d.file
	if d.file == requestSchema {
		for _, name := range []string{"Request", "RequestTypes"} {
			if err := m.claim(name, loc); err != nil {
				return err
			}
		}
		return m.requests(d)
	}
	if err := m.claim(d.name+"Types", loc); err != nil {
		return err
	}
	if d.file != responseSchema {
		return nil
	}
	for _, name := range []string{"Response", "ResponseTypes"} {
		if err := m.claim(name, loc); err != nil {
			return err
		}
	}
	for _, st := range d.branches {
		if i := slices.IndexFunc(st.fields, func(f *field) bool { return f.json == "id" }); i >= 0 && st.fields[i].sh.kind == shapeString {
			st.response = true
			d.answers = append(d.answers, st)
		}
	}
	return nil
}

// addValidator records the exported matcher of a string definition of defs.json that has a
// pattern or a length, so that code outside impl/wire checks a username or an id with the
// schema's own automaton instead of a copy of its pattern.
func (m *model) addValidator(file, name string, sh *shape) error {
	if sh.kind != shapeString || sh.str == nil {
		return nil
	}
	v := &validator{fn: "Valid" + camel(name), loc: file + "#/$defs/" + name, doc: sh.doc, check: sh.str}
	if err := m.claim(v.fn, "schemas/"+v.loc); err != nil {
		return err
	}
	m.validators = append(m.validators, v)
	return nil
}

// requests makes the branches of the request schema d requests: their types must be the values
// of defs.json#/$defs/request_type, in order, and each must have an optional or required id
// member that is a string.
func (m *model) requests(d *dispatcher) error {
	loc := "schemas/" + d.file
	if m.files["defs.json"] == nil || m.files["defs.json"].get("$defs").get(requestTypeDef) == nil {
		return fmt.Errorf("%s: the types of the requests must be the enum defs.json#/$defs/%s", loc, requestTypeDef)
	}
	sh, err := m.defShape("defs.json", requestTypeDef)
	if err != nil {
		return err
	}
	if sh.kind != shapeEnum {
		return fmt.Errorf("schemas/defs.json#/$defs/%s: must be an enum, the types of %s", requestTypeDef, d.file)
	}
	var values []string
	for _, st := range d.branches {
		values = append(values, st.discValue)
	}
	if !slices.Equal(values, sh.enum.values) {
		return fmt.Errorf("schemas/defs.json#/$defs/%s: must list the types that %s dispatches on, in its order: %s",
			requestTypeDef, d.file, strings.Join(values, ", "))
	}
	for _, st := range d.branches {
		i := slices.IndexFunc(st.fields, func(f *field) bool { return f.json == "id" })
		if i < 0 || st.fields[i].sh.kind != shapeString {
			return fmt.Errorf("schemas/%s: a request needs a string member id, which its answer echoes (spec §5.1)", st.loc)
		}
		st.request = sh.enum
	}
	d.request = sh.enum
	return nil
}

// child is the location of a subschema: loc (a file, or a file and fragment) followed by the
// JSON pointer suffix.
func child(loc, suffix string) string {
	if !strings.Contains(loc, "#") {
		loc += "#"
	}
	return loc + suffix
}

// claim records that a Go identifier is generated for loc, and fails on a collision.
func (m *model) claim(name, loc string) error {
	if prev, ok := m.goNames[name]; ok && prev != loc {
		return fmt.Errorf("%s: Go name %s is already used by %s", loc, name, prev)
	}
	m.goNames[name] = loc
	return nil
}

// resolve follows a $ref from the schema file from, returning the target's file, location and
// node. Only relative references to a whole file or to #/$defs/NAME are supported.
func (m *model) resolve(from, ref string) (string, string, *node, error) {
	file, frag, _ := strings.Cut(ref, "#")
	if file == "" {
		file = from
	} else {
		if strings.Contains(file, ":") || strings.HasPrefix(file, "/") {
			return "", "", nil, fmt.Errorf("schemas/%s: $ref %q: only relative references are supported", from, ref)
		}
		file = path.Join(path.Dir(from), file)
	}
	root, ok := m.files[file]
	if !ok {
		return "", "", nil, fmt.Errorf("schemas/%s: $ref %q: schemas/%s is not one of the codec's schemas", from, ref, file)
	}
	if frag == "" {
		return file, file, root, nil
	}
	name, ok := strings.CutPrefix(frag, "/$defs/")
	if !ok || strings.ContainsAny(name, "/~") {
		return "", "", nil, fmt.Errorf("schemas/%s: $ref %q: only #/$defs/NAME fragments are supported", from, ref)
	}
	t := root.get("$defs").get(name)
	if t == nil {
		return "", "", nil, fmt.Errorf("schemas/%s: $ref %q: no such definition", from, ref)
	}
	return file, file + "#/$defs/" + name, t, nil
}

// dispatch reads a dispatching schema: an object whose only property is a discriminator with an
// enum, required, and an allOf of {if: {properties: {D: {const: V}}, required: [D]}, then:
// {$ref: FILE}} for each value V of the enum, in order.
func (m *model) dispatch(p string) error {
	root := m.files[p]
	loc := "schemas/" + p
	if err := checkKeys(loc, root, []string{"type", "required", "properties", "allOf"}); err != nil {
		return err
	}
	if t := root.get("type"); t == nil || t.str != "object" {
		return fmt.Errorf("%s: a dispatching schema must have type object", loc)
	}
	props := root.get("properties")
	if props == nil || len(props.keys) != 1 {
		return fmt.Errorf("%s: a dispatching schema must have exactly one property, its discriminator", loc)
	}
	disc := props.keys[0]
	req := root.get("required")
	if req == nil || len(req.elems) != 1 || req.elems[0].str != disc {
		return fmt.Errorf("%s: a dispatching schema must require exactly its discriminator %q", loc, disc)
	}
	dn := props.vals[0]
	if err := checkKeys(loc+"#/properties/"+disc, dn, []string{"enum"}); err != nil {
		return err
	}
	values, err := stringList(loc+"#/properties/"+disc+"/enum", dn.get("enum"))
	if err != nil {
		return err
	}
	all := root.get("allOf")
	if all.kind != kindArray || len(all.elems) != len(values) {
		return fmt.Errorf("%s: allOf must have one if/then per value of the %s enum", loc, disc)
	}
	title := root.get("title")
	if title == nil {
		return fmt.Errorf("%s: a dispatching schema needs a title", loc)
	}
	var branches []*structType
	for i, br := range all.elems {
		bloc := fmt.Sprintf("%s#/allOf/%d", loc, i)
		if br.kind != kindObject || len(br.keys) != 2 || br.get("if") == nil || br.get("then") == nil {
			return fmt.Errorf("%s: must be exactly {if, then}", bloc)
		}
		cond := br.get("if")
		if len(cond.keys) != 2 || cond.get("properties") == nil || cond.get("required") == nil {
			return fmt.Errorf("%s/if: must be exactly {properties, required}", bloc)
		}
		cp := cond.get("properties")
		if len(cp.keys) != 1 || cp.keys[0] != disc {
			return fmt.Errorf("%s/if: must test only %q", bloc, disc)
		}
		cv := cp.vals[0]
		if len(cv.keys) != 1 || cv.get("const") == nil || cv.get("const").kind != kindString {
			return fmt.Errorf("%s/if: must be {const: STRING}", bloc)
		}
		if cv.get("const").str != values[i] {
			return fmt.Errorf("%s/if: const %q must be the enum value %q at the same position", bloc, cv.get("const").str, values[i])
		}
		if cr := cond.get("required"); len(cr.elems) != 1 || cr.elems[0].str != disc {
			return fmt.Errorf("%s/if: must require %q", bloc, disc)
		}
		then := br.get("then")
		if len(then.keys) != 1 || then.get("$ref") == nil {
			return fmt.Errorf("%s/then: must be exactly {$ref}", bloc)
		}
		tfile, tloc, tnode, err := m.resolve(p, then.get("$ref").str)
		if err != nil {
			return err
		}
		if tloc != tfile {
			return fmt.Errorf("%s/then: must reference a whole schema file", bloc)
		}
		st, err := m.structOf(tfile, tloc, tnode, "")
		if err != nil {
			return err
		}
		if st.discName != "" {
			return fmt.Errorf("%s/then: schemas/%s is already the target of another dispatching schema", bloc, tfile)
		}
		bit := slices.Index(st.props, disc)
		if bit < 0 || !st.required[bit] {
			return fmt.Errorf("schemas/%s: must require the discriminator %q", tfile, disc)
		}
		dp := tnode.get("properties").get(disc)
		if len(dp.keys) != 1 || dp.get("const") == nil || dp.get("const").str != values[i] {
			return fmt.Errorf("schemas/%s#/properties/%s: must be exactly {const: %q}", tfile, disc, values[i])
		}
		st.discName, st.discValue, st.discBit = disc, values[i], bit
		// The discriminator is not a field.
		st.fields = slices.DeleteFunc(st.fields, func(f *field) bool { return f.json == disc })
		branches = append(branches, st)
	}
	desc := ""
	if d := root.get("description"); d != nil {
		desc = d.str
	}
	if path.Dir(p) == "." {
		// A top-level message stream: its targets are Messages.
		d := &dispatcher{file: p, name: title.str, doc: desc, disc: disc, branches: branches}
		if err := m.claim("decode"+d.name, loc); err != nil {
			return err
		}
		for _, st := range branches {
			st.message = true
		}
		m.dispatchers = append(m.dispatchers, d)
		return nil
	}
	u := &unionType{name: title.str, doc: desc, file: p, disc: disc, method: title.str + camel(disc), branches: branches}
	if err := m.claim(u.name, loc); err != nil {
		return err
	}
	for _, st := range branches {
		st.union = u
	}
	m.unions[p] = u
	m.unionList = append(m.unionList, u)
	return nil
}

func stringList(loc string, n *node) ([]string, error) {
	if n == nil || n.kind != kindArray || len(n.elems) == 0 {
		return nil, fmt.Errorf("%s: must be a non-empty array of strings", loc)
	}
	var out []string
	for _, e := range n.elems {
		if e.kind != kindString {
			return nil, fmt.Errorf("%s: must be a non-empty array of strings", loc)
		}
		if slices.Contains(out, e.str) {
			return nil, fmt.Errorf("%s: %q appears twice", loc, e.str)
		}
		out = append(out, e.str)
	}
	return out, nil
}

// structOf builds (once) the struct of an object schema at loc in file. name is the Go name to
// use for an inline object without its own title ("" to require a title).
func (m *model) structOf(file, loc string, n *node, name string) (*structType, error) {
	if st, ok := m.structs[loc]; ok {
		return st, nil
	}
	sloc := "schemas/" + loc
	if err := checkKeys(sloc, n, objectKeywords); err != nil {
		return nil, err
	}
	if t := n.get("type"); t == nil || t.str != "object" {
		return nil, fmt.Errorf("%s: an object schema must have type object", sloc)
	}
	if ap := n.get("additionalProperties"); ap == nil || ap.kind != kindBool || ap.b {
		return nil, fmt.Errorf("%s: an object schema must have additionalProperties: false", sloc)
	}
	if t := n.get("title"); t != nil {
		name = t.str
	}
	if name == "" || !isExported(name) {
		return nil, fmt.Errorf("%s: an object schema needs a title that is an exported Go name", sloc)
	}
	if err := m.claim(name, sloc); err != nil {
		return nil, err
	}
	st := &structType{name: name, loc: loc, file: file}
	if d := n.get("description"); d != nil {
		st.doc = d.str
	}
	m.structs[loc] = st
	m.structList = append(m.structList, st)
	props := n.get("properties")
	if props == nil || props.kind != kindObject || len(props.keys) == 0 {
		return nil, fmt.Errorf("%s: an object schema must list its properties", sloc)
	}
	if len(props.keys) > 64 {
		return nil, fmt.Errorf("%s: more than 64 properties", sloc)
	}
	var required []string
	if r := n.get("required"); r != nil && !(r.kind == kindArray && len(r.elems) == 0) {
		var err error
		if required, err = stringList(sloc+"/required", r); err != nil {
			return nil, err
		}
	}
	for _, r := range required {
		if props.get(r) == nil {
			return nil, fmt.Errorf("%s: required member %q is not a property", sloc, r)
		}
	}
	for i, pname := range props.keys {
		if pname == "" || strings.ContainsFunc(pname, func(r rune) bool { return r < 0x20 || r >= 0x7f || r == '"' || r == '\\' }) {
			return nil, fmt.Errorf("%s: property name %q is not supported", sloc, pname)
		}
		req := slices.Contains(required, pname)
		st.props = append(st.props, pname)
		st.required = append(st.required, req)
		f := &field{json: pname, goName: camel(pname), required: req, bit: i}
		if slices.Contains([]string{"Validate", "MarshalJSON", "UnmarshalJSON", "MessageType", "PayloadKind", "RequestType", "RequestID"}, f.goName) {
			return nil, fmt.Errorf("%s: property %q would hide a method", sloc, pname)
		}
		for _, g := range st.fields {
			if g.goName == f.goName {
				return nil, fmt.Errorf("%s: properties %q and %q have the same Go name", sloc, g.json, pname)
			}
		}
		sh, err := m.shapeOf(file, child(loc, "/properties/"+pname), props.vals[i], name+f.goName)
		if err != nil {
			return nil, err
		}
		f.sh, f.doc = sh, sh.doc
		if !req {
			if err := optionalOK("schemas/"+child(loc, "/properties/"+pname), sh); err != nil {
				return nil, err
			}
		}
		st.fields = append(st.fields, f)
	}
	return st, nil
}

// optionalOK checks that an optional member has a Go zero value that no valid value shares, so
// that the zero value can stand for "absent".
func optionalOK(loc string, sh *shape) error {
	switch sh.kind {
	case shapeString:
		if sh.str != nil && (sh.str.minLen >= 1 || sh.str.dfa != nil && !sh.str.dfa.accepts("")) {
			return nil
		}
		return fmt.Errorf("%s: an optional string must not accept the empty string", loc)
	case shapeEnum:
		if !slices.Contains(sh.enum.values, "") {
			return nil
		}
	case shapeStruct:
		return nil // a pointer
	}
	return fmt.Errorf("%s: this kind of optional member is not supported", loc)
}

// defShape returns the shape of the definition name of defs.json (or another file's $defs).
func (m *model) defShape(file, name string) (*shape, error) {
	loc := file + "#/$defs/" + name
	if sh, ok := m.defShapes[loc]; ok {
		if sh == nil {
			return nil, fmt.Errorf("schemas/%s: circular reference", loc)
		}
		return sh, nil
	}
	m.defShapes[loc] = nil
	n := m.files[file].get("$defs").get(name)
	if n == nil {
		return nil, fmt.Errorf("schemas/%s: no such definition", loc)
	}
	sh, err := m.shapeOf(file, loc, n, camel(name))
	if err != nil {
		return nil, err
	}
	m.defShapes[loc] = sh
	return sh, nil
}

// shapeOf returns the shape of the schema n at loc; name is the Go name for whatever it needs
// to declare (a check function, an enum type or an inline struct).
func (m *model) shapeOf(file, loc string, n *node, name string) (*shape, error) {
	sloc := "schemas/" + loc
	if n.kind != kindObject {
		return nil, fmt.Errorf("%s: boolean schemas are not supported", sloc)
	}
	doc := ""
	if d := n.get("description"); d != nil {
		doc = d.str
	}
	if ref := n.get("$ref"); ref != nil {
		if err := checkKeys(sloc, n, []string{"$ref"}); err != nil {
			return nil, err
		}
		if n.get("title") != nil {
			return nil, fmt.Errorf("%s: title next to $ref is not supported", sloc)
		}
		tfile, tloc, tnode, err := m.resolve(file, ref.str)
		if err != nil {
			return nil, err
		}
		var sh *shape
		switch {
		case tloc != tfile:
			sh, err = m.defShape(tfile, strings.TrimPrefix(tloc, tfile+"#/$defs/"))
		case m.unions[tfile] != nil:
			sh = &shape{kind: shapeUnion, union: m.unions[tfile], loc: tloc}
			if d := tnode.get("description"); d != nil {
				sh.doc = d.str
			}
		case tnode.get("allOf") != nil:
			return nil, fmt.Errorf("%s: a top-level message schema cannot be nested", sloc)
		default:
			var st *structType
			st, err = m.structOf(tfile, tloc, tnode, "")
			if err == nil {
				sh = &shape{kind: shapeStruct, st: st, loc: tloc, doc: st.doc}
			}
		}
		if err != nil {
			return nil, err
		}
		if doc != "" {
			c := *sh
			c.doc = doc
			sh = &c
		}
		return sh, nil
	}
	if c := n.get("const"); c != nil {
		if err := checkKeys(sloc, n, []string{"const", "type"}); err != nil {
			return nil, err
		}
		if t := n.get("type"); t != nil && t.str != "string" || c.kind != kindString {
			return nil, fmt.Errorf("%s: only string constants are supported", sloc)
		}
		return &shape{kind: shapeConst, constVal: c.str, loc: loc, doc: doc}, nil
	}
	if e := n.get("enum"); e != nil {
		if err := checkKeys(sloc, n, []string{"enum", "type"}); err != nil {
			return nil, err
		}
		if t := n.get("type"); t != nil && t.str != "string" {
			return nil, fmt.Errorf("%s: only string enums are supported", sloc)
		}
		if !strings.Contains(loc, "#/$defs/") || strings.Contains(strings.SplitN(loc, "#/$defs/", 2)[1], "/") {
			return nil, fmt.Errorf("%s: an enum must be a definition of its own, which names its Go type", sloc)
		}
		values, err := stringList(sloc+"/enum", e)
		if err != nil {
			return nil, err
		}
		et := &enumType{name: name, doc: doc, loc: loc, file: file, values: values}
		if err := m.claim(et.name, sloc); err != nil {
			return nil, err
		}
		for _, v := range values {
			c := name + camel(v)
			if !isIdent(c) {
				return nil, fmt.Errorf("%s: enum value %q has no Go name", sloc, v)
			}
			if err := m.claim(c, sloc); err != nil {
				return nil, err
			}
			et.consts = append(et.consts, c)
		}
		m.enums[loc] = et
		m.enumList = append(m.enumList, et)
		return &shape{kind: shapeEnum, enum: et, loc: loc, doc: doc}, nil
	}
	t := n.get("type")
	if t == nil || t.kind != kindString {
		return nil, fmt.Errorf("%s: a schema needs a single type, a const, an enum or a $ref", sloc)
	}
	switch t.str {
	case "object":
		st, err := m.structOf(file, loc, n, "")
		if err != nil {
			return nil, err
		}
		return &shape{kind: shapeStruct, st: st, loc: loc, doc: doc}, nil
	case "boolean":
		if err := checkKeys(sloc, n, []string{"type"}); err != nil {
			return nil, err
		}
		return &shape{kind: shapeBool, loc: loc, doc: doc}, nil
	case "integer":
		if err := checkKeys(sloc, n, integerKeywords); err != nil {
			return nil, err
		}
		lo, err1 := intKeyword(sloc, n, "minimum")
		hi, err2 := intKeyword(sloc, n, "maximum")
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: an integer needs minimum and maximum between -10^18 and 10^18 (the Go type is int64): %v", sloc, firstErr(err1, err2))
		}
		if lo > hi {
			return nil, fmt.Errorf("%s: minimum is above maximum", sloc)
		}
		return &shape{kind: shapeInt, min: lo, max: hi, loc: loc, doc: doc}, nil
	case "string":
		if err := checkKeys(sloc, n, stringKeywords); err != nil {
			return nil, err
		}
		return m.stringShape(file, loc, n, name, doc)
	case "array":
		if err := checkKeys(sloc, n, arrayKeywords); err != nil {
			return nil, err
		}
		items := n.get("items")
		if items == nil || items.kind != kindObject {
			return nil, fmt.Errorf("%s: an array needs an items schema", sloc)
		}
		it, err := m.shapeOf(file, child(loc, "/items"), items, name+"Item")
		if err != nil {
			return nil, err
		}
		sh := &shape{kind: shapeArray, items: it, minItems: -1, maxItems: -1, loc: loc, doc: doc}
		if v := n.get("minItems"); v != nil {
			if sh.minItems, err = countKeyword(sloc, "minItems", v); err != nil {
				return nil, err
			}
		}
		if v := n.get("maxItems"); v != nil {
			if sh.maxItems, err = countKeyword(sloc, "maxItems", v); err != nil {
				return nil, err
			}
		}
		if u := n.get("uniqueItems"); u != nil {
			if u.kind != kindBool {
				return nil, fmt.Errorf("%s: uniqueItems must be a boolean", sloc)
			}
			sh.unique = u.b
			if sh.unique && it.kind != shapeString && it.kind != shapeEnum {
				return nil, fmt.Errorf("%s: uniqueItems is only supported for arrays of strings", sloc)
			}
		}
		switch it.kind {
		case shapeArray, shapeUnion, shapeConst:
			return nil, fmt.Errorf("%s: arrays of this kind of item are not supported", sloc)
		}
		return sh, nil
	}
	return nil, fmt.Errorf("%s: type %q is not supported", sloc, t.str)
}

// stringShape builds a string: base64 when its pattern is one of the canonical base64 patterns
// (the Go type is then []byte holding the decoded bytes), text otherwise.
func (m *model) stringShape(file, loc string, n *node, name, doc string) (*shape, error) {
	sloc := "schemas/" + loc
	c := &strCheck{fn: "check" + name, loc: loc, file: file, minLen: -1, maxLen: -1}
	var err error
	if v := n.get("minLength"); v != nil {
		if c.minLen, err = countKeyword(sloc, "minLength", v); err != nil {
			return nil, err
		}
	}
	if v := n.get("maxLength"); v != nil {
		if c.maxLen, err = countKeyword(sloc, "maxLength", v); err != nil {
			return nil, err
		}
	}
	if p := n.get("pattern"); p != nil {
		if p.kind != kindString {
			return nil, fmt.Errorf("%s: pattern must be a string", sloc)
		}
		c.pattern = p.str
	}
	isB64Name := strings.HasPrefix(path.Base(loc), "b64_") || strings.HasSuffix(loc, "#/$defs/ciphertext")
	if c.pattern != "" {
		if f, ok := recognizeBase64(c.pattern); ok {
			if f.mode != b64Any && (c.minLen >= 0 || c.maxLen >= 0) {
				return nil, fmt.Errorf("%s: minLength and maxLength next to a fixed-length base64 pattern are not supported", sloc)
			}
			f.minLen, f.maxLen = c.minLen, c.maxLen
			return &shape{kind: shapeBytes, b64: f, loc: loc, doc: doc}, nil
		}
	}
	if isB64Name {
		return nil, fmt.Errorf("%s: a base64 definition must have one of the canonical base64 patterns (spec §2.3), not %q", sloc, c.pattern)
	}
	sh := &shape{kind: shapeString, loc: loc, doc: doc}
	if c.minLen < 0 && c.maxLen < 0 && c.pattern == "" {
		return sh, nil
	}
	if c.pattern != "" {
		if c.dfa, err = compileDFA(c.pattern); err != nil {
			return nil, fmt.Errorf("%s: pattern %q: %w", sloc, c.pattern, err)
		}
		c.dfaName = "pat" + name
		c.ascii = true
	}
	if err := m.claim(c.fn, sloc); err != nil {
		return nil, err
	}
	m.checks[loc] = c
	m.checkList = append(m.checkList, c)
	sh.str = c
	return sh, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// intKeyword reads an integer bound that the decoder can compare exactly (|v| < 10^18).
func intKeyword(loc string, n *node, kw string) (int64, error) {
	v := n.get(kw)
	if v == nil {
		return 0, fmt.Errorf("%s: no %s", loc, kw)
	}
	if v.kind != kindNumber {
		return 0, fmt.Errorf("%s: %s must be a number", loc, kw)
	}
	i, err := strconv.ParseInt(string(v.num), 10, 64)
	if err != nil || i <= -1e18 || i >= 1e18 {
		return 0, fmt.Errorf("%s: %s must be an integer between -10^18 and 10^18", loc, kw)
	}
	return i, nil
}

// countKeyword reads a non-negative length or count.
func countKeyword(loc, kw string, v *node) (int, error) {
	if v.kind != kindNumber {
		return 0, fmt.Errorf("%s: %s must be a number", loc, kw)
	}
	i, err := strconv.ParseInt(string(v.num), 10, 32)
	if err != nil || i < 0 || i > math.MaxInt32 {
		return 0, fmt.Errorf("%s: %s must be a non-negative integer", loc, kw)
	}
	return int(i), nil
}

// camel turns a JSON name into a Go name: each part between '_', '-' or '.' capitalised, "id"
// written ID (the only initialism), and an x between two parts that would run digits together
// (b64_32 is B64x32).
func camel(s string) string {
	var b strings.Builder
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' || r == '/' })
	for i, p := range parts {
		if p == "id" {
			b.WriteString("ID")
			continue
		}
		if i > 0 && isDigit(parts[i-1][len(parts[i-1])-1]) && isDigit(p[0]) {
			b.WriteByte('x')
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isExported(s string) bool {
	return isIdent(s) && unicode.IsUpper(rune(s[0]))
}

func isIdent(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}
