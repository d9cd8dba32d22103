package doccheck

import (
	"go/ast"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// outputComment matches what makes the go command run an example: a
// comment in its body starting "Output:" or "Unordered output:".
var outputComment = regexp.MustCompile(`(?i)^[[:space:]]*(unordered )?output:`)

// checkExample reports a library package or command without a runnable
// Example in its _test.go files.
func checkExample(p *pkg) []Finding {
	if p.kind != library && p.kind != command {
		return nil
	}
	for _, f := range p.tests {
		if hasRunnableExample(f.ast) {
			return nil
		}
	}
	_, pos := p.anchor()
	return []Finding{p.at(pos, "package %s (%s) has no runnable Example (a func Example... with an // Output: comment in a _test.go file)", p.name, p.rel)}
}

func hasRunnableExample(f *ast.File) bool {
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Body == nil || !isExampleName(fn.Name.Name) {
			continue
		}
		if fn.Type.Params.NumFields() != 0 || fn.Type.Results.NumFields() != 0 {
			continue
		}
		for _, g := range f.Comments {
			if g.Pos() > fn.Body.Lbrace && g.End() < fn.Body.Rbrace && outputComment.MatchString(g.Text()) {
				return true
			}
		}
	}
	return false
}

// isExampleName reports whether the go command treats name as an example:
// Example, ExampleF, ExampleT_M or Example_suffix, not Examplefoo (the
// rune after "Example" must not be lower case).
func isExampleName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Example")
	if !ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !unicode.IsLower(r)
}
