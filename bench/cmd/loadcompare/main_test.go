package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyRun keeps a real comparison short: one round of 50 ms per server, no
// warm-up, two workers, one scenario.
var tinyRun = []string{"-scenario", "patient-read", "-c", "2", "-d", "50ms", "-rounds", "1", "-warmup", "-1ns"}

func TestRunComparesBareAndWrapped(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "cpu.out")
	var stdout, stderr bytes.Buffer
	status := run(append([]string{"-audit", "json", "-cpuprofile", profile}, tinyRun...), nil, &stdout, &stderr)
	require.Equal(t, 0, status, "stderr: %s", stderr.String())
	assert.Empty(t, stderr.String())
	out := stdout.String()
	assert.True(t, strings.HasPrefix(out, "| scenario | server | requests |"), out)
	assert.Contains(t, out, "| patient-read | bare |")
	assert.Contains(t, out, "| patient-read | wrapped |")
	assert.NotContains(t, out, "user-search", "only the chosen scenario runs")
	fi, err := os.Stat(profile)
	require.NoError(t, err)
	assert.Positive(t, fi.Size(), "CPU profile written")
}

func TestRunFailsBelowMinRatio(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// No server keeps 1000 times the bare throughput: the check must fail.
	status := run(append([]string{"-min-ratio", "1000"}, tinyRun...), nil, &stdout, &stderr)
	assert.Equal(t, 1, status)
	assert.Contains(t, stderr.String(), "below the floor 999.95")
	assert.Contains(t, stdout.String(), "| patient-read | wrapped |", "the table is printed before the verdict")
}

func TestRunRefusesBadInvocation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"unknown flag", []string{"-n", "5"}, 2, "flag provided but not defined: -n"},
		{"bad duration", []string{"-d", "soon"}, 2, `invalid value "soon" for flag -d`},
		{"argument", []string{"user-search"}, 2, `unexpected argument "user-search"`},
		{"unknown scenario", []string{"-scenario", "../etc"}, 2, `-scenario "../etc"`},
		{"unknown audit sink", []string{"-audit", ""}, 2, `-audit "": want json or count`},
		{"unwritable profile", []string{"-cpuprofile", filepath.Join(t.TempDir(), "missing", "cpu.out")}, 1, "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.status, run(tc.args, nil, &stdout, &stderr))
			assert.Contains(t, stderr.String(), tc.stderr)
			assert.Empty(t, stdout.String(), "nothing measured")
		})
	}
}
