package middleware

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadlineRecorder is a ResponseWriter that records the read deadlines
// set on it through http.ResponseController.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetReadDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// TestBodyDeadlineNeverExtendsTheServers: the server's ReadTimeout runs
// from the start of the request, so when it is not longer than the body
// read timeout the middleware sets no deadline of its own (one set from
// the first body read would end later); when it is longer, the body gets
// the middleware's, and it is cleared at the end of the body.
func TestBodyDeadlineNeverExtendsTheServers(t *testing.T) {
	const timeout = 30 * time.Second
	read := func(serverReadTimeout time.Duration) []time.Time {
		w := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
		ctx := context.WithValue(context.Background(), http.ServerContextKey, &http.Server{ReadTimeout: serverReadTimeout})
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/fhir/Observation", strings.NewReader(`{"resourceType":"Observation"}`))
		h := holdBody(r, w, &config{bodyTimeout: timeout, maxBody: 1 << 20})
		require.NotNil(t, h)
		_, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return w.deadlines
	}
	assert.Empty(t, read(10*time.Second), "a shorter server ReadTimeout is left in charge")
	assert.Empty(t, read(timeout), "an equal server ReadTimeout is left in charge")
	before := time.Now()
	got := read(time.Minute)
	if assert.Len(t, got, 2, "a longer server ReadTimeout: the body's deadline, then cleared") {
		assert.WithinDuration(t, before.Add(timeout), got[0], 5*time.Second)
		assert.True(t, got[1].IsZero(), "cleared once the body is read")
	}
	got = read(0)
	assert.Len(t, got, 2, "no server ReadTimeout: the body's deadline, then cleared")
}
