package doccheck

import (
	"cmp"
	"go/token"
	"path/filepath"
	"slices"
)

// Check walks every Go package below root (a module root: nested modules,
// testdata, vendor and node_modules are skipped) and returns the breaches of
// fhirwarden's documentation standard, sorted by file and line:
//
//   - every package has a doc.go carrying the package doc comment, and no
//     other file of the package carries one;
//   - the package doc starts with a usage example: an indented code block
//     within its first three blocks, before any heading; a command's doc
//     also names each of its flags (-name);
//   - every exported top-level identifier (func, type, const, var, and
//     method of an exported type) of a non-test, non-generated file has a
//     doc comment; in a grouped declaration a comment on the group counts;
//   - every library package and command has a runnable Example (a func
//     Example... with an "// Output:" comment) in its _test.go files.
//     Commands under an internal/ directory (generators) and packages made
//     of tests only are exempt.
//
// An error means root could not be walked or a file could not be parsed.
func Check(root string) ([]Finding, error) {
	root = filepath.Clean(root)
	dirs, err := packageDirs(root)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var findings []Finding
	for _, dir := range dirs {
		p, err := loadPackage(fset, root, dir)
		if err != nil {
			return nil, err
		}
		if len(p.files)+len(p.tests) == 0 {
			continue
		}
		findings = append(findings, checkPackageDoc(p)...)
		findings = append(findings, checkExported(p)...)
		findings = append(findings, checkExample(p)...)
	}
	slices.SortFunc(findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
	return findings, nil
}
