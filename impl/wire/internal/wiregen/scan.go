package main

import (
	"fmt"
	"slices"
	"strconv"
)

// scanRoots are the messages that get a scanner: a function that checks the bytes of a message
// exactly as its decoder does (the same accept/reject set, the same errors) without keeping a
// value, so without allocating, and records where each member's value lies in the text. The
// relay forwards these on its hot path by splicing them (impl/server, README "Performance"):
// it needs to know that the text is valid and where its members are, not their values.
var scanRoots = []string{"c2s/relay.json"}

// maxScanUnique bounds the items a scanner keeps on its stack to check uniqueItems: up to 16,
// uniqueStrings compares them pairwise, which is what uniqueBytes does.
const maxScanUnique = 16

// scanSet is what gets a scanner: the root messages, and every struct and union below them.
type scanSet struct {
	structs map[*structType]bool
	unions  map[*unionType]bool
}

// scanned returns the scan set of the model, or an error when a schema below a root uses a
// keyword a scanner cannot check without allocating.
func (m *model) scanned() (*scanSet, error) {
	set := &scanSet{structs: map[*structType]bool{}, unions: map[*unionType]bool{}}
	var visitShape func(sh *shape) error
	var visitStruct func(st *structType) error
	visitShape = func(sh *shape) error {
		switch sh.kind {
		case shapeStruct:
			return visitStruct(sh.st)
		case shapeUnion:
			if set.unions[sh.union] {
				return nil
			}
			set.unions[sh.union] = true
			for _, b := range sh.union.branches {
				if err := visitStruct(b); err != nil {
					return err
				}
			}
		case shapeArray:
			if sh.items.kind == shapeArray {
				return fmt.Errorf("%s: a scanner does not check arrays of arrays", sh.loc)
			}
			if sh.unique && (sh.items.kind != shapeEnum && sh.items.kind != shapeString || sh.maxItems < 0 || sh.maxItems > maxScanUnique) {
				return fmt.Errorf("a scanner checks uniqueItems only on strings and enums, at most %d of them", maxScanUnique)
			}
			return visitShape(sh.items)
		}
		return nil
	}
	visitStruct = func(st *structType) error {
		if set.structs[st] {
			return nil
		}
		set.structs[st] = true
		for _, f := range st.fields {
			if err := visitShape(f.sh); err != nil {
				return fmt.Errorf("%s: %w", st.loc, err)
			}
		}
		return nil
	}
	for _, st := range m.structList {
		if st.message && slices.Contains(scanRoots, st.file) {
			if err := visitStruct(st); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}

// scanDispatch writes the scanner of a union: decode<Union> without the values.
func (w *writer) scanDispatch(u *unionType) {
	fn := "scan" + u.name
	w.comment("", fmt.Sprintf("%s checks the value at the cursor exactly as decode%s does, keeping nothing.", fn, u.name))
	w.p("func %s(d *decoder) *ValidationError {", fn)
	w.p("v, err := d.discriminator(%s)", strconv.Quote(u.disc))
	w.p("if err != nil {")
	w.p("return err")
	w.p("}")
	w.p("switch string(v) {")
	for _, st := range u.branches {
		w.p("case %s:", strconv.Quote(st.discValue))
		w.p("return scan%s(d, nil)", st.name)
	}
	w.p("}")
	w.p("return errEnum(valuesOf%s).at(%s)", u.name, strconv.Quote("/"+u.disc))
	w.p("}")
	w.p("")
}

// scanner writes the scanner of a struct: its decode method without the values, recording the
// span of each member's value.
func (w *writer) scanner(st *structType) {
	fn := "scan" + st.name
	membersVar := "membersOf" + st.name
	w.comment("", fmt.Sprintf("%s checks the object at the cursor exactly as (*%s).decode does, keeping nothing, so without allocating. When at is not nil (it has len(%s) elements), at[i] is set to the span of the text of the value of member %s[i], or left as it is when the member is absent.", fn, st.name, membersVar, membersVar))
	w.p("func %s(d *decoder, at []span) *ValidationError {", fn)
	w.objectBody(st, "start := d.valueStart()", func(i int, f *field) {
		if f != nil {
			w.p("{")
			w.scanValue(f.sh, ref(f.json), "", false)
			w.p("}")
		}
		w.p("d.mark(at, %d, start)", i)
	})
}

// scanValue writes the check of the value at the cursor, as decodeValue decodes it. item is
// the wrapping of an array item's error ("" outside arrays); keep says that an enum item goes
// into items[i], for uniqueItems.
func (w *writer) scanValue(sh *shape, r, item string, keep bool) {
	wrap := item + ".at(" + r + ")"
	switch sh.kind {
	case shapeString:
		s := "_"
		if sh.str != nil || keep {
			s = "s"
		}
		w.p("%s, err := d.str()", s)
		if sh.str != nil {
			w.p("if err == nil {")
			w.p("err = %s(s)", sh.str.fn)
			w.p("}")
		}
		w.p("if err != nil {")
		w.p("return err%s", wrap)
		w.p("}")
		if keep {
			w.p("items[i] = d.keep(s)")
		}
	case shapeBytes:
		f := sh.b64
		w.p("s, alphabet, err := d.b64str()")
		w.p("if err == nil {")
		switch f.mode {
		case b64Fixed:
			w.p("err = scanB64Fixed(s, alphabet, %d, %s)", f.size, goString(f.pattern))
		case b64FixedOrEmpty:
			w.p("err = scanB64FixedOrEmpty(s, alphabet, %d, %s)", f.size, goString(f.pattern))
		case b64Any:
			w.p("err = scanB64Var(s, alphabet, %d, %d, %s)", f.minLen, f.maxLen, goString(f.pattern))
		}
		w.p("}")
		w.p("if err != nil {")
		w.p("return err%s", wrap)
		w.p("}")
	case shapeInt:
		w.p("if _, err := d.integer(%d, %d); err != nil {", sh.min, sh.max)
		w.p("return err%s", wrap)
		w.p("}")
	case shapeBool:
		w.p("if _, err := d.boolean(); err != nil {")
		w.p("return err%s", wrap)
		w.p("}")
	case shapeConst:
		w.p("if err := d.constString(%s); err != nil {", strconv.Quote(sh.constVal))
		w.p("return err%s", wrap)
		w.p("}")
	case shapeEnum:
		w.p("s, ok, err := d.enumString()")
		w.p("if err != nil {")
		w.p("return err%s", wrap)
		w.p("}")
		w.p("e, valid := parse%s(s)", sh.enum.name)
		w.p("if !ok || !valid {")
		w.p("return errEnum(valuesOf%s)%s", sh.enum.name, wrap)
		w.p("}")
		if keep {
			w.p("items[i] = e")
		} else {
			w.p("_ = e")
		}
	case shapeStruct:
		w.p("if err := scan%s(d, nil); err != nil {", sh.st.name)
		w.p("return err%s", wrap)
		w.p("}")
	case shapeUnion:
		w.p("if err := scan%s(d); err != nil {", sh.union.name)
		w.p("return err%s", wrap)
		w.p("}")
	case shapeArray:
		w.scanArray(sh, r)
	}
}

// scanArray writes the check of an array, as decodeValue decodes one.
func (w *writer) scanArray(sh *shape, r string) {
	wrap := ".at(" + r + ")"
	if sh.unique && sh.items.kind == shapeEnum {
		w.p("var items [%d]%s", sh.maxItems, sh.items.enum.name)
	} else if sh.unique {
		w.p("var items [%d][]byte", sh.maxItems)
	}
	w.p("if err := d.openArray(); err != nil {")
	w.p("return err%s", wrap)
	w.p("}")
	count := sh.minItems > 0 || sh.unique
	if count {
		w.p("n := 0")
	}
	w.p("for i, first := 0, true; ; i, first = i+1, false {")
	w.p("more, err := d.element(first)")
	w.p("if err != nil {")
	w.p("return err%s", wrap)
	w.p("}")
	w.p("if !more {")
	w.p("break")
	w.p("}")
	if sh.maxItems >= 0 {
		w.p("if i == %d {", sh.maxItems)
		w.p("return errMaxItems(%d)%s", sh.maxItems, wrap)
		w.p("}")
	}
	if count {
		w.p("n++")
	}
	w.p("{")
	w.scanValue(sh.items, r, ".atIndex(i)", sh.unique)
	w.p("}")
	w.p("}")
	if sh.minItems > 0 {
		w.p("if n < %d {", sh.minItems)
		w.p("return errMinItems(n, %d)%s", sh.minItems, wrap)
		w.p("}")
	}
	if sh.unique {
		fn := "uniqueStrings"
		if sh.items.kind == shapeString {
			fn = "uniqueBytes"
		}
		w.p("if i, j := %s(items[:n]); i >= 0 {", fn)
		w.p("return errUnique(i, j)%s", wrap)
		w.p("}")
	}
}
