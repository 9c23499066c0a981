package mutants

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"slices"
	"strings"
)

// keepLines returns src, the mutated file, with lines taken from or added to the text after
// byte offset end (the replacement is src[start:end]), or else taken from the mutated
// function's lines before start, until the replacement's delta extra lines (fewer, when
// negative) are made up, so that every declaration after the function keeps its line.
//
// Why: a package's export data records the positions of its declarations, and the go command
// recompiles every importer of a package whose export data changed. A mutant that shifted the
// lines of a large package (impl/server, impl/e2ee/group) would recompile the commands above it
// too; with the lines kept, only the mutated package is compiled again before the link.
//
// The token stream stays as it was, semicolons included: lines are added by doubling a newline
// between tokens, and taken away as blank lines between tokens or, when those run out, as lines
// holding only a // comment that is not a directive. When there are too few of those, src is
// returned as it is.
func keepLines(src []byte, start, end, delta int) []byte {
	if delta == 0 || bytes.IndexByte(src, '\r') >= 0 { // the scanner drops carriage returns from literals
		return src
	}
	at, blank, comment := spareLines(src, end, len(src))
	if delta < 0 {
		if at < 0 {
			return src
		}
		// After a newline, more newlines add nothing to the token stream.
		return slices.Concat(src[:at], bytes.Repeat([]byte{'\n'}, -delta), src[at:])
	}
	cut := append(blank, comment...)
	if body := bodyStart(src, start); len(cut) < delta && body >= 0 {
		// Lines of the mutated function before the snippet: they move, the declarations do not.
		_, blank, comment := spareLines(src, body, start)
		cut = slices.Concat(cut, blank, comment)
	}
	if len(cut) < delta {
		return src
	}
	cut = cut[:delta]
	slices.SortFunc(cut, func(a, b span) int { return a.start - b.start })
	out := make([]byte, 0, len(src))
	last := 0
	for _, l := range cut {
		out = append(out, src[last:l.start]...)
		last = l.end
	}
	return append(out, src[last:]...)
}

// span is a whole line of src, src[start:end], its newline included.
type span struct{ start, end int }

// spareLines looks at src[from:to]. It returns where newlines can be added without
// changing the tokens (just after the first newline between two tokens; -1 if there is none),
// and, in order, the lines that can be removed without changing them: blank lines between
// tokens, and lines holding only a // comment that is not a directive (//go:, //line, //export).
func spareLines(src []byte, from, to int) (at int, blank, comment []span) {
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, scanner.ScanComments)
	at, prevEnd := -1, 0
	for {
		pos, tok, lit := s.Scan()
		if tok == token.SEMICOLON && lit == "\n" {
			continue // inserted at a newline: whitespace in the source
		}
		start := file.Offset(pos)
		if tok == token.EOF || start > to {
			start = to
		}
		if gap := max(prevEnd, from); gap < start {
			nl := newlines(src, gap, start)
			if len(nl) > 0 && at < 0 {
				at = nl[0] + 1
			}
			for i := 1; i < len(nl); i++ {
				blank = append(blank, span{nl[i-1] + 1, nl[i] + 1})
			}
		}
		if start == to {
			return at, blank, comment
		}
		prevEnd = start + tokenLen(tok, lit)
		if tok == token.COMMENT && start >= from && prevEnd < to && ownLine(src, start, prevEnd) && !directive(lit) {
			comment = append(comment, span{bytes.LastIndexByte(src[:start], '\n') + 1, prevEnd + 1})
		}
	}
}

// newlines returns the offsets of the newlines in src[from:to].
func newlines(src []byte, from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		if src[i] == '\n' {
			out = append(out, i)
		}
	}
	return out
}

// ownLine reports whether the // comment src[start:end] is alone on its line.
func ownLine(src []byte, start, end int) bool {
	if !bytes.HasPrefix(src[start:], []byte("//")) || end >= len(src) || src[end] != '\n' {
		return false
	}
	lineStart := bytes.LastIndexByte(src[:start], '\n') + 1
	return len(bytes.TrimLeft(src[lineStart:start], " \t")) == 0
}

// directive reports whether a comment tells the toolchain something.
func directive(c string) bool {
	return slices.ContainsFunc([]string{"//go:", "//line ", "//export ", "//extern ", "// +build"}, func(p string) bool {
		return strings.HasPrefix(c, p)
	})
}

// tokenLen is the length in the source of a token the scanner returned with lit.
func tokenLen(tok token.Token, lit string) int {
	if lit != "" {
		return len(lit)
	}
	return len(tok.String())
}

// bodyStart returns the offset just inside the body of the function declared in src whose body
// holds offset off, or -1 when off is in none.
func bodyStart(src []byte, off int) int {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	if err != nil {
		return -1
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
			if lb, rb := fset.Position(fd.Body.Lbrace).Offset, fset.Position(fd.Body.Rbrace).Offset; lb < off && off <= rb {
				return lb + 1
			}
		}
	}
	return -1
}
