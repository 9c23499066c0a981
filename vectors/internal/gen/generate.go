package gen

import (
	"fmt"
	"testing"
	"testing/cryptotest"

	"github.com/blindpost/blindpost/vectors"
)

// File is one generated file of the vectors directory.
type File struct {
	Name string // file name in vectors/
	Data []byte
}

// generators maps each family to its generator. The group family needs t
// to make crypto/hpke deterministic with testing/cryptotest.
var generators = map[string]func(t *testing.T) any{
	"encoding":       func(*testing.T) any { return encodingVectors() },
	"handshake":      func(*testing.T) any { return handshakeVectors() },
	"records":        func(*testing.T) any { return recordVectors() },
	"registration":   func(*testing.T) any { return registrationVectors() },
	"safety_numbers": func(*testing.T) any { return safetyVectors() },
	"group":          func(t *testing.T) any { return groupVectors(t) },
}

// Generate returns every vector file and its schema, in the order of
// vectors.Families. It must not run in a parallel test: it resets the
// global random source of crypto/rand (testing/cryptotest).
func Generate(t *testing.T) (files []File, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				panic(r)
			}
			files, err = nil, e
		}
	}()
	for _, f := range vectors.Families() {
		g, ok := generators[f.Name]
		if !ok {
			return nil, fmt.Errorf("gen: no generator for family %s", f.Name)
		}
		// Every family starts from the same global random state, so that
		// it does not depend on what the others drew.
		cryptotest.SetGlobalRandom(t, goSeed("family "+f.Name))
		schema, err := vectors.Schema(f)
		if err != nil {
			return nil, err
		}
		v := g(t)
		nameRules(v)
		files = append(files, File{f.File(), marshal(v)}, File{f.Schema, schema})
	}
	return files, nil
}
