package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// kind is what the standard asks of a package.
type kind int

const (
	// library is an importable package: doc.go with a usage example,
	// documented exports and a runnable Example.
	library kind = iota
	// command is a program (package main): doc.go documenting its usage and
	// flags, and a runnable Example that runs it in-process.
	command
	// tool is a package main below an internal/ directory, such as a
	// go:generate program: doc.go and usage, but no Example.
	tool
	// testOnly is a package with tests and nothing else (at most a doc.go
	// without declarations): doc.go and usage, but no Example, since there
	// is no API to show.
	testOnly
)

// sourceFile is one parsed .go file of a package directory.
type sourceFile struct {
	base      string // file name
	ast       *ast.File
	test      bool // a _test.go file
	generated bool // carries a "Code generated ... DO NOT EDIT." line
}

// pkg is the files of one directory, grouped as the go command groups them.
type pkg struct {
	root  string // the checked root directory
	rel   string // slash-separated directory relative to the root ("." for the root)
	name  string // package name of the non-test files (or of the internal test files)
	kind  kind
	files []*sourceFile // non-test files of package name
	tests []*sourceFile // _test.go files, of package name and name_test
	fset  *token.FileSet
}

// loadPackage parses the .go files of dir, skipping files excluded with
// "//go:build ignore".
func loadPackage(fset *token.FileSet, root, dir string) (*pkg, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	relDir, err := filepath.Rel(root, dir)
	if err != nil {
		return nil, err
	}
	p := &pkg{root: root, rel: filepath.ToSlash(relDir), fset: fset}
	var all []*sourceFile
	for _, e := range entries {
		if e.IsDir() || !isGoFile(e.Name()) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("doccheck: %w", err)
		}
		if ignored(f) {
			continue
		}
		all = append(all, &sourceFile{
			base:      e.Name(),
			ast:       f,
			test:      strings.HasSuffix(e.Name(), "_test.go"),
			generated: ast.IsGenerated(f),
		})
	}
	for _, f := range all {
		if !f.test {
			p.name = f.ast.Name.Name
			break
		}
	}
	if p.name == "" && len(all) > 0 {
		p.name = strings.TrimSuffix(all[0].ast.Name.Name, "_test")
	}
	for _, f := range all {
		switch {
		case f.test:
			p.tests = append(p.tests, f)
		case f.ast.Name.Name == p.name:
			p.files = append(p.files, f)
		}
	}
	p.kind = classify(p)
	return p, nil
}

func classify(p *pkg) kind {
	if p.name == "main" {
		if slices.Contains(strings.Split(p.rel, "/"), "internal") {
			return tool
		}
		return command
	}
	for _, f := range p.files {
		if len(f.ast.Decls) > 0 {
			return library
		}
	}
	return testOnly
}

// ignored reports whether f is excluded from every build by
// "//go:build ignore" before its package clause.
func ignored(f *ast.File) bool {
	for _, g := range f.Comments {
		if g.Pos() > f.Package {
			break
		}
		for _, c := range g.List {
			if strings.TrimSpace(c.Text) == "//go:build ignore" {
				return true
			}
		}
	}
	return false
}

// file returns the non-test file of the package named base, or nil.
func (p *pkg) file(base string) *sourceFile {
	for _, f := range p.files {
		if f.base == base {
			return f
		}
	}
	return nil
}

// at returns a finding at pos.
func (p *pkg) at(pos token.Pos, format string, args ...any) Finding {
	position := p.fset.Position(pos)
	file := position.Filename
	if rel, err := filepath.Rel(p.root, file); err == nil {
		file = rel
	}
	return Finding{File: filepath.ToSlash(file), Line: position.Line, Message: fmt.Sprintf(format, args...)}
}

// anchor is where findings about the package as a whole are reported: the
// package clause of doc.go, or of its first file.
func (p *pkg) anchor() (*sourceFile, token.Pos) {
	if f := p.file("doc.go"); f != nil {
		return f, f.ast.Package
	}
	if len(p.files) > 0 {
		return p.files[0], p.files[0].ast.Package
	}
	return p.tests[0], p.tests[0].ast.Package
}
