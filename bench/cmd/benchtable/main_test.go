package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		input      string
		status     int
		stdout     string // substring, "" for nothing
		stderrPart string
	}{
		{"table", nil, "BenchmarkX/raw-2 10 5 ns/op\nBenchmarkX/y-2 10 10 ns/op\n", 0, "| BenchmarkX/y | 1 | 10.0 | — | — | 2x raw |", ""},
		{"no results", nil, "PASS\nok x 1s\n", 1, "", "no benchmark results"},
		{"empty input", nil, "", 1, "", "no benchmark results"},
		{"line too long", nil, strings.Repeat("x", 2<<20), 1, "", "benchtable:"},
		{"help", []string{"-h"}, "", 0, "", "usage:"},
		{"unknown flag", []string{"-count", "5"}, "", 2, "", "flag provided but not defined"},
		{"argument", []string{"bench.txt"}, "", 2, "", `unexpected argument "bench.txt"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(tc.args, strings.NewReader(tc.input), &stdout, &stderr)
			assert.Equal(t, tc.status, got, "stderr: %s", stderr.String())
			if tc.stdout == "" {
				assert.Empty(t, stdout.String())
			} else {
				assert.Contains(t, stdout.String(), tc.stdout)
			}
			if tc.stderrPart == "" {
				assert.Empty(t, stderr.String())
			} else {
				assert.Contains(t, stderr.String(), tc.stderrPart)
			}
		})
	}
}
