package client

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRedirectLoopIsUnexpectedResponse: a server redirecting for ever
// within the base URL gets ten redirects, and the caller an error it
// can branch on (the server answered: it is no network failure).
func TestRedirectLoopIsUnexpectedResponse(t *testing.T) {
	var hits atomic.Int64
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		hits.Add(1)
		http.Redirect(w, r, "/fhir/Patient/1?n="+strconv.Itoa(n), http.StatusFound)
	})
	c, _, _ := newTestClient(t, f.URL+"/fhir", "secret-token")
	_, err := c.Read(context.Background(), "Patient", "1")
	assert.ErrorIs(t, err, ErrUnexpectedResponse)
	assert.NotErrorIs(t, err, ErrForeignLink)
	assert.NotContains(t, err.Error(), "?n=", "the query stays out of the message")
	assert.EqualValues(t, maxRedirects, hits.Load(), "the first request and nine redirects; the tenth is not followed")
}
