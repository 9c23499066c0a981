package main

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// dfaTable is a deterministic automaton over bytes accepting exactly the strings a pattern
// matches as a whole; the generated code runs it with impl/wire's matchDFA.
type dfaTable struct {
	class  [256]uint8 // 0 for bytes that no state accepts
	nclass int
	next   []uint8 // next[state*nclass+class]; state 0 is dead
	accept []bool
	start  uint8
}

// accepts runs the automaton, for the generator's own checks.
func (t *dfaTable) accepts(s string) bool {
	st := int(t.start)
	for i := 0; i < len(s); i++ {
		st = int(t.next[st*t.nclass+int(t.class[s[i]])])
	}
	return t.accept[st]
}

// compileDFA compiles a schema pattern into a dfaTable. JSON Schema patterns are ECMA-262 regular
// expressions matched anywhere in the string; the supported subset is the one where ECMA-262 and
// Go's RE2 syntax agree and the automaton is small: the pattern must be anchored at both ends
// (^...$), its characters and classes must be ASCII, and it must not use '.', class escapes
// such as \d or \s, flags, or anchors inside.
func compileDFA(pattern string) (*dfaTable, error) {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '\\' && i+1 < len(pattern) {
			c := pattern[i+1]
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
				return nil, fmt.Errorf("escape \\%c is not supported (ECMA-262 and RE2 differ on some)", c)
			}
			i++
		}
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil, fmt.Errorf("the pattern must be anchored: ^...$")
	}
	inner := &syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1 : len(re.Sub)-1], Flags: re.Flags}
	if len(inner.Sub) == 0 {
		inner = &syntax.Regexp{Op: syntax.OpEmptyMatch}
	}
	if err := checkRegexp(inner); err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(inner.Simplify())
	if err != nil {
		return nil, err
	}
	return subsetConstruction(prog)
}

// checkRegexp rejects the constructs outside the supported subset.
func checkRegexp(re *syntax.Regexp) error {
	if re.Flags&syntax.FoldCase != 0 {
		return fmt.Errorf("case folding is not supported")
	}
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r >= 0x80 {
				return fmt.Errorf("non-ASCII characters are not supported")
			}
		}
	case syntax.OpCharClass:
		for _, r := range re.Rune {
			if r >= 0x80 {
				return fmt.Errorf("classes with non-ASCII characters (including negated classes) are not supported")
			}
		}
	case syntax.OpEmptyMatch, syntax.OpConcat, syntax.OpAlternate, syntax.OpCapture,
		syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
	default:
		return fmt.Errorf("%s is not supported", re)
	}
	for _, s := range re.Sub {
		if err := checkRegexp(s); err != nil {
			return err
		}
	}
	return nil
}

// subsetConstruction builds the automaton of prog, which matches at its start and must consume
// the whole input to reach a match.
func subsetConstruction(prog *syntax.Prog) (*dfaTable, error) {
	// The instructions that consume a byte.
	var consumers []int
	for pc, inst := range prog.Inst {
		switch inst.Op {
		case syntax.InstRune, syntax.InstRune1:
			consumers = append(consumers, pc)
		case syntax.InstRuneAny, syntax.InstRuneAnyNotNL, syntax.InstEmptyWidth:
			return nil, fmt.Errorf("instruction %v is not supported", inst.Op)
		}
	}
	// Byte classes: bytes that every consumer treats alike. Class 0 is every byte that no
	// consumer accepts, non-ASCII bytes included.
	t := &dfaTable{}
	sigs := map[string]uint8{"": 0}
	order := []string{""}
	for b := 0; b < 0x80; b++ {
		var sig strings.Builder
		for _, pc := range consumers {
			if prog.Inst[pc].MatchRune(rune(b)) {
				sig.WriteString(strconv.Itoa(pc) + ",")
			}
		}
		k := sig.String()
		c, ok := sigs[k]
		if !ok {
			c = uint8(len(order))
			sigs[k] = c
			order = append(order, k)
		}
		t.class[b] = c
	}
	t.nclass = len(order)
	if t.nclass > 255 {
		return nil, fmt.Errorf("too many byte classes")
	}
	// A representative byte of each class.
	rep := make([]int, t.nclass)
	for b := 0x7f; b >= 0; b-- {
		rep[t.class[b]] = b
	}

	closure := func(start []uint32) ([]uint32, bool) {
		seen := map[uint32]bool{}
		var set []uint32
		accept := false
		stack := slices.Clone(start)
		for len(stack) > 0 {
			pc := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[pc] {
				continue
			}
			seen[pc] = true
			inst := prog.Inst[pc]
			switch inst.Op {
			case syntax.InstAlt, syntax.InstAltMatch:
				stack = append(stack, inst.Out, inst.Arg)
			case syntax.InstCapture, syntax.InstNop:
				stack = append(stack, inst.Out)
			case syntax.InstMatch:
				accept = true
			case syntax.InstRune, syntax.InstRune1:
				set = append(set, pc)
			}
		}
		slices.Sort(set)
		return set, accept
	}
	key := func(set []uint32, accept bool) string {
		return fmt.Sprint(set, accept)
	}
	states := map[string]int{}
	var sets [][]uint32
	// State 0: dead.
	states[key(nil, false)] = 0
	sets = append(sets, nil)
	t.accept = append(t.accept, false)
	startSet, startAccept := closure([]uint32{uint32(prog.Start)})
	if k := key(startSet, startAccept); k != key(nil, false) {
		states[k] = 1
		sets = append(sets, startSet)
		t.accept = append(t.accept, startAccept)
		t.start = 1
	}
	for s := 0; s < len(sets); s++ {
		for c := 0; c < t.nclass; c++ {
			next := 0
			if c != 0 && s != 0 {
				var outs []uint32
				for _, pc := range sets[s] {
					if prog.Inst[pc].MatchRune(rune(rep[c])) {
						outs = append(outs, prog.Inst[pc].Out)
					}
				}
				set, accept := closure(outs)
				k := key(set, accept)
				n, ok := states[k]
				if !ok {
					n = len(sets)
					if n > 255 {
						return nil, fmt.Errorf("the automaton has more than 255 states")
					}
					states[k] = n
					sets = append(sets, set)
					t.accept = append(t.accept, accept)
				}
				next = n
			}
			t.next = append(t.next, uint8(next))
		}
	}
	return t, nil
}
