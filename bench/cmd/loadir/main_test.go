package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-scenario", "patient-delete"},
		{"-scenario", "patient-read", "-server", "both"},
		{"-scenario", "patient-read", "-n", "0"},
		{"-scenario", "patient-read", "extra"},
		{"-bogus"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, run(args, &stdout, &stderr), "%q", args)
		assert.Empty(t, stdout.String())
		assert.NotEmpty(t, stderr.String())
	}
}

func TestEveryScenarioRuns(t *testing.T) {
	for _, sc := range []string{"user-search", "patient-search", "patient-search-narrowed", "patient-read"} {
		for _, server := range []string{"bare", "wrapped"} {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, 0, run([]string{"-scenario", sc, "-server", server, "-n", "10", "-warmup", "2", "-c", "2"}, &stdout, &stderr), "%s %s: %s", sc, server, stderr.String())
			assert.Contains(t, stdout.String(), sc+" "+server+": 10 requests, statuses map[200:10]")
		}
	}
}

func TestCallgrindOutsideValgrindFails(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 1, run([]string{"-scenario", "user-search", "-n", "5", "-warmup", "0", "-c", "1", "-callgrind"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "callgrind_control")
}
