package wire

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"pgregory.net/rapid"
)

// validateInputs is how many mutated Go values TestValidateDifferential checks in a full run
// (a tenth with -short, see volume).
const validateInputs = 20_000

// TestValidateDifferential checks the other half of the codec against the oracle: Validate on
// Go values. It mutates generated values field by field (strings of boundary lengths and other
// alphabets, byte slices of other lengths, integers at and beyond the bounds, emptied or
// repeated list items, enum values that are not in the set), encodes them without validating,
// and checks that Validate accepts exactly what the oracle accepts, naming the same pointer and
// keyword when the oracle gives a single cause.
func TestValidateDifferential(t *testing.T) {
	want := volume(validateInputs)
	quota := (want + len(kinds) - 1) / len(kinds)
	var total atomic.Int64
	t.Run("types", func(t *testing.T) {
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) {
				t.Parallel()
				n := 0
				for n < quota {
					rapid.Check(t, func(rt *rapid.T) {
						v := k.gen.Draw(rt, "value")
						rnd := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0x7661))
						for range 4 {
							m := reflect.New(reflect.TypeOf(v).Elem())
							m.Elem().Set(deepCopy(reflect.ValueOf(v).Elem()))
							for c := 1 + rnd.IntN(2); c > 0; c-- {
								mutateValue(rnd, m.Elem())
							}
							validateAgrees(rt, k.target(), m.Interface())
							n++
						}
					})
				}
				total.Add(int64(n))
			})
		}
	})
	t.Logf("checked Validate on %d mutated values against the oracle", total.Load())
	if !t.Failed() && total.Load() < int64(want) {
		t.Fatalf("only %d values, want %d", total.Load(), want)
	}
}

// validator is what every generated type has.
type validator interface {
	validate() *ValidationError
	appendJSON([]byte) []byte
}

func validateAgrees(t tb, tg target, v any) {
	t.Helper()
	g := v.(validator)
	data := g.appendJSON(nil)
	want := oracle(t, tg.schema, data)
	err := g.validate()
	got := verdict{valid: err == nil}
	if err != nil {
		got.pointer, got.keyword, got.detail = err.Pointer, err.Keyword, err.Message
	}
	if want.valid != got.valid || want.single && (want.pointer != got.pointer || want.keyword != got.keyword) {
		t.Fatalf("Validate disagrees with the oracle on %#v, encoded %s\n  oracle:   %v\n  Validate: %v", v, quoteInput(data), want, got)
	}
}

// deepCopy copies a generated value so that mutating it leaves the original alone.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(deepCopy(v.Elem()))
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			c.Field(i).Set(deepCopy(v.Field(i)))
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	}
	return v
}

// leaves lists the settable values inside v that a mutation may change.
func leaves(v reflect.Value, out []reflect.Value) []reflect.Value {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			out = leaves(v.Elem(), out)
		}
		if v.Kind() == reflect.Pointer && v.CanSet() {
			out = append(out, v) // may become nil: an optional member left out
		}
		return out
	case reflect.Struct:
		for i := range v.NumField() {
			out = leaves(v.Field(i), out)
		}
		return out
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Uint8 {
			for i := range v.Len() {
				out = leaves(v.Index(i), out)
			}
		}
	}
	if v.CanSet() {
		out = append(out, v)
	}
	return out
}

func mutateValue(r *rand.Rand, root reflect.Value) {
	ls := leaves(root, nil)
	if len(ls) == 0 {
		return
	}
	v := ls[r.IntN(len(ls))]
	b := schemaBounds()
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.Zero(v.Type()))
	case reflect.String:
		var s string
		switch r.IntN(4) {
		case 0:
			s = typeNames[r.IntN(len(typeNames))]
		case 1:
			s = ""
		default:
			l := b.lengths[r.IntN(len(b.lengths))]
			alphabet := []string{v.String(), "a", "A", "z9_.-", "é", "😀", " ", "0123456789abcdef", "!~", "sha256:"}[r.IntN(10)]
			if alphabet == "" {
				alphabet = "a"
			}
			a := []rune(alphabet)
			var sb strings.Builder
			for i := range l {
				sb.WriteRune(a[i%len(a)])
			}
			s = sb.String()
		}
		v.SetString(s)
	case reflect.Int64:
		n := b.ints[r.IntN(len(b.ints))]
		var x int64
		for _, c := range strings.TrimPrefix(n, "-") {
			x = x*10 + int64(c-'0')
		}
		if strings.HasPrefix(n, "-") {
			x = -x
		}
		v.SetInt(x)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n := max(0, v.Len()+[]int{-2, -1, 1, 2, 0, -v.Len()}[r.IntN(6)])
			bs := make([]byte, n)
			for i := range bs {
				bs[i] = byte(r.IntN(256))
			}
			if n == 0 && r.IntN(2) == 0 {
				bs = nil
			}
			v.SetBytes(bs)
			return
		}
		switch {
		case r.IntN(3) == 0:
			v.Set(reflect.Zero(v.Type()))
		case v.Len() > 0 && r.IntN(2) == 0: // repeat an item
			v.Set(reflect.Append(v, deepCopy(v.Index(r.IntN(v.Len())))))
		default: // grow to a bound
			want := b.items[r.IntN(len(b.items))]
			if v.Len() == 0 || want > 1001 {
				return
			}
			s := reflect.MakeSlice(v.Type(), want, want)
			for i := range want {
				s.Index(i).Set(deepCopy(v.Index(i % v.Len())))
				if e := s.Index(i); e.Kind() == reflect.String && r.IntN(2) == 0 {
					e.SetString("u" + itoa(i))
				}
			}
			v.Set(s)
		}
	}
}
