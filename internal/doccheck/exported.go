package doccheck

import "go/ast"

// checkExported reports exported top-level identifiers without a doc
// comment in the non-test, non-generated files of p: funcs, methods of
// exported types, types, consts and vars. In a parenthesized group a
// comment on the group documents every spec in it.
func checkExported(p *pkg) []Finding {
	var out []Finding
	for _, f := range p.files {
		if f.generated {
			continue
		}
		for _, decl := range f.ast.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Doc != nil || !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					out = append(out, p.at(d.Name.Pos(), "exported func %s has no doc comment", d.Name.Name))
					continue
				}
				if recv := receiverType(d.Recv); recv != "" && ast.IsExported(recv) {
					out = append(out, p.at(d.Name.Pos(), "exported method %s.%s has no doc comment", recv, d.Name.Name))
				}
			case *ast.GenDecl:
				out = append(out, checkGenDecl(p, d)...)
			}
		}
	}
	return out
}

func checkGenDecl(p *pkg, d *ast.GenDecl) []Finding {
	if d.Doc != nil {
		return nil
	}
	var out []Finding
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			if s.Doc == nil && s.Name.IsExported() {
				out = append(out, p.at(s.Name.Pos(), "exported type %s has no doc comment", s.Name.Name))
			}
		case *ast.ValueSpec:
			if s.Doc != nil {
				continue
			}
			for _, name := range s.Names {
				if name.IsExported() {
					out = append(out, p.at(name.Pos(), "exported %s %s has no doc comment", d.Tok, name.Name))
					break
				}
			}
		}
	}
	return out
}

// receiverType returns the name of the receiver's base type: T for T, *T,
// T[P] and *T[P].
func receiverType(recv *ast.FieldList) string {
	if recv == nil || len(recv.List) == 0 {
		return ""
	}
	t := recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.ParenExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}
