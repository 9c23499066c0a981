package server

import (
	"bytes"
	"encoding/json"

	"github.com/blindpost/blindpost/impl/wire"
)

// peekRequest reads the id and type of a message the codec rejected, so that the bad_message
// error can echo the id (spec §5.1 [MSG-5]) and name the type (§5.7 error.for). It runs only
// after wire.Decode failed, looks at top-level members only, and returns each of them only when
// the message is one JSON object that holds it exactly once with a valid value; anything else
// gives "".
func peekRequest(data []byte) (id string, typ wire.RequestType) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", ""
	}
	seen := map[string][]json.RawMessage{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", ""
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", ""
		}
		if k, _ := key.(string); k == "id" || k == "type" {
			seen[k] = append(seen[k], raw)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return "", ""
	}
	if _, err := dec.Token(); err == nil {
		return "", "" // something follows the object
	}
	// The id and type syntax of schemas/defs.json and client-message.json (spec §5.1).
	if s, ok := single(seen["id"]); ok && wire.ValidID(s) {
		id = s
	}
	if s, ok := single(seen["type"]); ok {
		for _, t := range wire.RequestTypes() {
			if string(t) == s {
				typ = t
			}
		}
	}
	return id, typ
}

// single returns the string of a member that appeared exactly once as a JSON string.
func single(values []json.RawMessage) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	var s string
	if err := json.Unmarshal(values[0], &s); err != nil {
		return "", false
	}
	return s, true
}
