package doccheck

import (
	"go/ast"
	"go/doc/comment"
	"go/token"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// checkPackageDoc checks that doc.go exists and carries the only package
// comment, that the comment starts with a usage example, and that a
// command's comment names its flags.
func checkPackageDoc(p *pkg) []Finding {
	var out []Finding
	docFile := p.file("doc.go")
	if docFile == nil {
		f, pos := p.anchor()
		out = append(out, p.at(pos, "package %s (%s) has no doc.go", p.name, p.rel))
		if f.ast.Doc == nil {
			out = append(out, p.at(pos, "package %s (%s) has no package doc comment", p.name, p.rel))
		}
	} else if docFile.ast.Doc == nil {
		out = append(out, p.at(docFile.ast.Package, "doc.go has no package doc comment"))
	}
	for _, f := range append(slices.Clip(p.files), p.tests...) {
		if f != docFile && f.ast.Doc != nil && f.ast.Name.Name == p.name {
			out = append(out, p.at(f.ast.Doc.Pos(), "package doc comment outside doc.go (move it into doc.go)"))
		}
	}
	if docFile == nil || docFile.ast.Doc == nil {
		return out
	}
	doc := docFile.ast.Doc
	if !startsWithCode(doc.Text()) {
		out = append(out, p.at(doc.Pos(), "package doc does not start with a usage example (an indented code block within its first three blocks, before any heading)"))
	}
	if p.kind == command || p.kind == tool {
		text := doc.Text()
		for _, fl := range definedFlags(p) {
			if !mentionsFlag(text, fl.name) {
				out = append(out, p.at(fl.pos, "flag -%s is not documented in the package doc", fl.name))
			}
		}
	}
	return out
}

// startsWithCode reports whether the first code block of the doc comment
// text is among its first three blocks and precedes every heading.
func startsWithCode(text string) bool {
	var parser comment.Parser
	d := parser.Parse(text)
	for i, b := range d.Content {
		if i >= 3 {
			return false
		}
		switch b.(type) {
		case *comment.Code:
			return true
		case *comment.Heading:
			return false
		}
	}
	return false
}

// flagDef is a flag a command defines.
type flagDef struct {
	name string
	pos  token.Pos
}

// flagFuncs maps the flag-defining methods of package flag (and of
// *flag.FlagSet) to the index of their name argument.
var flagFuncs = map[string]int{
	"Bool": 0, "Duration": 0, "Float64": 0, "Int": 0, "Int64": 0, "String": 0,
	"Uint": 0, "Uint64": 0, "Func": 0, "BoolFunc": 0,
	"BoolVar": 1, "DurationVar": 1, "Float64Var": 1, "IntVar": 1, "Int64Var": 1,
	"StringVar": 1, "UintVar": 1, "Uint64Var": 1, "TextVar": 1, "Var": 1,
}

var flagName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// definedFlags returns the flags defined, with a literal name, in the
// non-test files of p that import package flag.
func definedFlags(p *pkg) []flagDef {
	var out []flagDef
	for _, f := range p.files {
		if !importsFlag(f.ast) {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			i, ok := flagFuncs[sel.Sel.Name]
			if !ok || i >= len(call.Args) {
				return true
			}
			lit, ok := call.Args[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err == nil && flagName.MatchString(name) {
				out = append(out, flagDef{name: name, pos: lit.Pos()})
			}
			return true
		})
	}
	return out
}

func importsFlag(f *ast.File) bool {
	for _, imp := range f.Imports {
		if imp.Path.Value == `"flag"` {
			return true
		}
	}
	return false
}

// mentionsFlag reports whether text names -name (or --name) as a word:
// "-addr" and "-addr." count, "-address" and "client-id" (for -id) do not.
func mentionsFlag(text, name string) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], "-"+name)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+1+len(name)
		before := start == 0 || text[start-1] == '-' || !isNameByte(text[start-1])
		after := end == len(text) || !isNameByte(text[end]) || text[end] == '.'

		if before && after {
			return true
		}
		i = start + 1
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
