package wire

import (
	"encoding/json"
	"testing"
)

// fuzzTargets are the entry points FuzzDecode feeds every input to.
var fuzzTargets = []string{"client", "server", "payload", "content", "commit", "group_msg"}

// FuzzDecode feeds arbitrary bytes to every decoding entry point: none may panic, each must agree
// with the oracle, and whatever decodes must re-encode canonically. The seeds are the schema
// corpus (valid instances and invalid cases, raw bytes included) and the spec's examples; the
// test fails when there are none.
//
//	go test ./impl/wire -run '^$' -fuzz FuzzDecode
func FuzzDecode(f *testing.F) {
	seeds := 0
	for _, file := range corpusFiles(f, "valid") {
		var instances []json.RawMessage
		readJSON(f, file, &instances)
		for _, inst := range instances {
			f.Add([]byte(inst))
			seeds++
		}
	}
	for _, file := range corpusFiles(f, "invalid") {
		var cases []invalidCase
		readJSON(f, file, &cases)
		for _, c := range cases {
			f.Add(c.data(f))
			seeds++
		}
	}
	for _, ex := range specExamples(f) {
		f.Add(ex.data)
		seeds++
	}
	if seeds == 0 {
		f.Fatal("FuzzDecode has no seeds: the corpus and the spec examples are missing")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range fuzzTargets {
			tg := topTargets[name]
			if v, valid := agree(t, tg, data); valid {
				checkCanonical(t, tg, v)
			}
		}
	})
}
