package clientsuite

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"

	"github.com/blindpost/blindpost/impl/wire"
	"github.com/blindpost/blindpost/schemas/corpus"
)

// TestRelayRoutesEveryRequest checks that the type switch of (*Relay).handle has a case for the
// Go type of every request the schemas define (wire.RequestTypes, with a valid example of each
// from the schemas' corpus), so that a request added to the schemas without a route in the
// runner's relay fails here rather than in whichever client case first sends it.
func TestRelayRoutesEveryRequest(t *testing.T) {
	routed := relaySwitchCases(t)
	goTypes := map[wire.RequestType]string{}
	for _, ex := range corpus.Valid(t, "c2s") {
		m, err := wire.Decode(wire.FromClient, ex)
		if err != nil {
			t.Fatalf("%s: %v", ex, err)
		}
		goTypes[m.(wire.Request).RequestType()] = reflect.TypeOf(m).Elem().Name()
	}
	for _, typ := range wire.RequestTypes() {
		name, ok := goTypes[typ]
		if !ok {
			t.Errorf("schemas/testdata/valid/c2s has no %s", typ)
			continue
		}
		if !routed[name] {
			t.Errorf("(*Relay).handle has no case *wire.%s: the relay does not route %s requests", name, typ)
		}
	}
}

// relaySwitchCases returns the wire types that the type switch of (*Relay).handle in
// relay_route.go has a case for.
func relaySwitchCases(t *testing.T) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "relay_route.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "handle" || fn.Recv == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			sw, ok := n.(*ast.TypeSwitchStmt)
			if !ok {
				return true
			}
			for _, stmt := range sw.Body.List {
				for _, e := range stmt.(*ast.CaseClause).List {
					if star, ok := e.(*ast.StarExpr); ok {
						if sel, ok := star.X.(*ast.SelectorExpr); ok {
							if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "wire" {
								cases[sel.Sel.Name] = true
							}
						}
					}
				}
			}
			return false
		})
	}
	if len(cases) == 0 {
		t.Fatal("relay_route.go: no type switch over wire messages in (*Relay).handle")
	}
	return cases
}
