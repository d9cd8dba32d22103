package main

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/logbuf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunServesUntilCancelled starts the program as main does, learns the
// bound address from the printed base URL, reads the public
// CapabilityStatement, and checks that cancelling shuts it down cleanly.
func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr logbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-backend-key", t.TempDir() + "/k.json"}, &stdout, &stderr)
	}()
	base := regexp.MustCompile(`FHIR base\s+(http://127\.0\.0\.1:\d+/fhir)`)
	var url string
	require.Eventually(t, func() bool {
		m := base.FindStringSubmatch(stdout.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 30*time.Second, 20*time.Millisecond)
	resp, err := http.Get(url + "/metadata")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	assert.Contains(t, stderr.String(), "shutting down")
}

func TestRunRejectsBadFlags(t *testing.T) {
	var stderr logbuf.Buffer
	err := run(context.Background(), []string{"-fhir-version", "DSTU1"}, &stderr, &stderr)
	assert.Error(t, err)
}
