package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A mistake in the configuration file is said once, as FILE:LINE: reason
// (run writes it to stderr), and the exit status is 1. The test runs main
// in a child process, since main exits.
func TestConfigErrorSaidOnce(t *testing.T) {
	if os.Getenv("GATEWAY_TEST_MAIN") == "1" {
		os.Args = []string{"gateway", "-check-config", os.Getenv("GATEWAY_TEST_CONFIG")}
		main()
		return
	}
	p := writeConfig(t, "listen: 127.0.0.1:0\nupstrem: http://hapi:8080/fhir\n")
	cmd := exec.Command(os.Args[0], "-test.run=^TestConfigErrorSaidOnce$")
	cmd.Env = append(os.Environ(), "GATEWAY_TEST_MAIN=1", "GATEWAY_TEST_CONFIG="+p)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stderr: %s", stderr.String())
	assert.Equal(t, 1, exit.ExitCode())
	assert.Equal(t, 1, strings.Count(stderr.String(), p+":2: "), "said once, with its line: %q", stderr.String())
}
