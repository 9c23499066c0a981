package hostile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// node is a JSON value that keeps the order and the exact text of object members, so that a
// mutation can write what no JSON library would: a repeated member, an escaped name, a number
// spelled 3.0, a raw invalid byte.
type node struct {
	object bool
	array  bool
	keys   []string // object: member names as written, quotes included
	names  []string // object: member names decoded
	kids   []*node  // object members or array elements
	raw    []byte   // a scalar, exactly as written
}

// parse reads one JSON value into a tree. Scalars keep the text the encoder gives them.
func parse(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, fmt.Errorf("hostile: parse: %w", err)
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return parseObject(dec)
		case '[':
			return parseArray(dec)
		}
		return nil, errors.New("unexpected " + v.String())
	case string:
		return &node{raw: quote(v)}, nil
	case json.Number:
		return &node{raw: []byte(v.String())}, nil
	case bool:
		return &node{raw: []byte(strconv.FormatBool(v))}, nil
	case nil:
		return &node{raw: []byte("null")}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

func parseObject(dec *json.Decoder) (*node, error) {
	n := &node{object: true}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		kid, err := parseValue(dec)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, string(quote(name)))
		n.names = append(n.names, name)
		n.kids = append(n.kids, kid)
	}
	_, err := dec.Token() // '}'
	return n, err
}

func parseArray(dec *json.Decoder) (*node, error) {
	n := &node{array: true}
	for dec.More() {
		kid, err := parseValue(dec)
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, kid)
	}
	_, err := dec.Token() // ']'
	return n, err
}

// quote writes s as a JSON string without HTML escaping.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// lit is a scalar node with exactly this text (which need not be valid JSON).
func lit(text string) *node { return &node{raw: []byte(text)} }

// encode writes the tree compactly.
func (n *node) encode() []byte { return n.append(nil) }

func (n *node) append(b []byte) []byte {
	switch {
	case n.object:
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, k...)
			b = append(b, ':')
			b = n.kids[i].append(b)
		}
		return append(b, '}')
	case n.array:
		b = append(b, '[')
		for i, k := range n.kids {
			if i > 0 {
				b = append(b, ',')
			}
			b = k.append(b)
		}
		return append(b, ']')
	}
	return append(b, n.raw...)
}

// clone copies the tree.
func (n *node) clone() *node {
	c := &node{object: n.object, array: n.array, raw: n.raw}
	c.keys = append([]string(nil), n.keys...)
	c.names = append([]string(nil), n.names...)
	for _, k := range n.kids {
		c.kids = append(c.kids, k.clone())
	}
	return c
}

// at returns the node at path (indexes into kids) of a tree.
func (n *node) at(path []int) *node {
	for _, i := range path {
		n = n.kids[i]
	}
	return n
}

// str returns the decoded text of a string scalar.
func (n *node) str() (string, bool) {
	var s string
	if n.object || n.array || json.Unmarshal(n.raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonType names the JSON type of a node as a schema "type" would.
func (n *node) jsonType() string {
	switch {
	case n.object:
		return "object"
	case n.array:
		return "array"
	case len(n.raw) > 0 && n.raw[0] == '"':
		return "string"
	case string(n.raw) == "true" || string(n.raw) == "false":
		return "boolean"
	case string(n.raw) == "null":
		return "null"
	case strings.ContainsAny(string(n.raw), ".eE"):
		return "number"
	}
	return "integer"
}
