package doccheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModuleDocumentation is the standard's guard: it fails, with file:line,
// for every breach in this module. Fix a finding by documenting, not by
// exempting.
func TestModuleDocumentation(t *testing.T) {
	root := moduleRoot(t)
	findings, err := Check(root)
	require.NoError(t, err)
	for _, f := range findings {
		t.Errorf("%s", f)
	}
}

// TestModuleWalk guards the guard: a check that silently walks nothing
// would pass forever.
func TestModuleWalk(t *testing.T) {
	root := moduleRoot(t)
	dirs, err := packageDirs(root)
	require.NoError(t, err)
	rel := make([]string, 0, len(dirs))
	for _, d := range dirs {
		r, err := filepath.Rel(root, d)
		require.NoError(t, err)
		rel = append(rel, filepath.ToSlash(r))
	}
	for _, want := range []string{"scope", "token", "token/tokentest", "fhirauth", "fhirauth/fhirspec/internal/gen",
		"middleware", "client", "interop", "internal/doccheck", "examples/careconnect", "examples/fhirctl", "examples/gateway"} {
		assert.Contains(t, rel, want)
	}
	for _, d := range rel {
		assert.NotRegexp(t, `(^|/)(bench|e2e|testdata|node_modules)(/|$)`, d, "skipped directory walked")
	}
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}

// TestCheckFindings runs Check on testdata/mod, a module with one package
// per rule (good, bad, nodoc, nousage, a command, an internal generator, a
// tests-only package, generated code) and directories that must be skipped
// (testdata, node_modules, a nested module, a dot directory), each holding
// an undocumented export that would show up if walked.
func TestCheckFindings(t *testing.T) {
	findings, err := Check(filepath.Join("testdata", "mod"))
	require.NoError(t, err)
	got := make([]string, len(findings))
	for i, f := range findings {
		got[i] = f.String()
	}
	want := []string{
		"bad/bad.go:1: package doc comment outside doc.go (move it into doc.go)",
		"bad/bad.go:2: package bad (bad) has no doc.go",
		"bad/bad.go:2: package bad (bad) has no runnable Example (a func Example... with an // Output: comment in a _test.go file)",
		"bad/bad.go:4: exported func Exported has no doc comment",
		"bad/bad.go:6: exported type T has no doc comment",
		"bad/bad.go:8: exported method T.Method has no doc comment",
		"bad/bad.go:9: exported method T.PointerMethod has no doc comment",
		"bad/bad.go:11: exported method G.Generic has no doc comment",
		"bad/bad.go:12: exported method G.Generic2 has no doc comment",
		"bad/bad.go:14: exported type G has no doc comment",
		"bad/bad.go:16: exported const C has no doc comment",
		"bad/bad.go:19: exported const D has no doc comment",
		"bad/bad.go:20: exported const F has no doc comment",
		"bad/bad.go:23: exported var V has no doc comment",
		"bad/bad.go:28: exported var X has no doc comment",
		"bad/bad.go:32: exported type Y has no doc comment",
		"cmd/serve/doc.go:6: package main (cmd/serve) has no runnable Example (a func Example... with an // Output: comment in a _test.go file)",
		"cmd/serve/main.go:14: flag -secret is not documented in the package doc",
		"cmd/serve/main.go:16: flag -l is not documented in the package doc",
		"nocomment/nocomment.go:1: package nocomment (nocomment) has no doc.go",
		"nocomment/nocomment.go:1: package nocomment (nocomment) has no package doc comment",
		"nodoc/doc.go:1: doc.go has no package doc comment",
		"nodoc/nodoc.go:1: package doc comment outside doc.go (move it into doc.go)",
		"nousage/doc.go:1: package doc does not start with a usage example (an indented code block within its first three blocks, before any heading)",
	}
	assert.Equal(t, want, got)
}

func TestStartsWithCode(t *testing.T) {
	tests := []struct {
		name string
		text string
		want bool
	}{
		{"code second", "Package p does.\n\n\tp.Do()\n", true},
		{"code third", "Package p does.\n\nMore words.\n\n\tp.Do()\n", true},
		{"code fourth", "Package p does.\n\nOne.\n\nTwo.\n\n\tp.Do()\n", false},
		{"code after heading", "Package p does.\n\n# Use\n\n\tp.Do()\n", false},
		{"no code", "Package p does.\n", false},
		{"list is not code", "Package p does.\n\n  - p.Do()\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, startsWithCode(tt.text))
		})
	}
}

func TestMentionsFlag(t *testing.T) {
	tests := []struct {
		text, name string
		want       bool
	}{
		{"-addr host:port", "addr", true},
		{"use --addr", "addr", true},
		{"ends with -addr.", "addr", true},
		{"(-addr)", "addr", true},
		{"-address", "addr", false},
		{"client-id", "id", false},
		{"-client-id", "client-id", true},
		{"-client-id", "client", false},
		{"addr", "addr", false},
		{"", "addr", false},
		{"-o", "o", true},
		{"go-o", "o", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, mentionsFlag(tt.text, tt.name), "mentionsFlag(%q, %q)", tt.text, tt.name)
	}
}

func TestIsExampleName(t *testing.T) {
	for name, want := range map[string]bool{
		"Example": true, "ExampleCheck": true, "ExampleFinding_String": true, "Example_walk": true,
		"Examplefoo": false, "Exampl": false, "TestExample": false, "ExampleÄ": true, "Example1": true, "Exampleä": false,
	} {
		assert.Equal(t, want, isExampleName(name), name)
	}
}

func TestCheckErrors(t *testing.T) {
	_, err := Check(filepath.Join("testdata", "does-not-exist"))
	require.Error(t, err)

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "broken.go"), []byte("package broken\nfunc {"), 0o600))
	_, err = Check(dir)
	require.Error(t, err, "an unparsable file is an error, not a pass")
}
