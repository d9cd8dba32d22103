// Package doccheck enforces fhirwarden's documentation standard, so that it
// holds everywhere and stays that way: its test walks every package of the
// module and fails with file:line for each breach.
//
//	findings, err := doccheck.Check(moduleRoot) // the directory holding go.mod
//	if err != nil {
//		return err // unreadable directory or unparsable file
//	}
//	for _, f := range findings {
//		fmt.Println(f) // examples/gateway/doc.go:28: package main (examples/gateway) has no runnable Example ...
//	}
//
//	go test ./internal/doccheck  # the check of this module
//
// The standard: every package has a doc.go carrying the package doc
// comment, which starts with a usage example (a command's also names its
// flags); every exported identifier has a doc comment; every library
// package and command has a runnable Example (with an "// Output:"
// comment). Commands under an internal/ directory (go:generate programs)
// and packages of tests only need no Example. See [Check] for the details.
//
// It uses go/parser and go/ast only, without type checking, so it checks
// the whole module in well under a second. Nested modules (directories with
// their own go.mod, such as bench and e2e) are skipped: each module checks
// itself, by calling Check on its own root in a test.
package doccheck
