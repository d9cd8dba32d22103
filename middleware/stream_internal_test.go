package middleware

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// principalAuth authenticates every token as one principal.
type principalAuth struct{ p *token.Principal }

func (a principalAuth) Authenticate(context.Context, string) (*token.Principal, error) {
	return a.p, nil
}

// Every streamed check gives its memory back to the budget: completed,
// aborted after output, refused before it, fallen back to the buffer,
// or broken off by the handler.
func TestStreamedCheckGivesBudgetBack(t *testing.T) {
	set, err := scope.ParseSet("launch/patient patient/*.rs")
	require.NoError(t, err)
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	m, err := New(principalAuth{&token.Principal{Subject: "u", Scopes: set, Patient: "123"}}, policy,
		WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)

	var entries strings.Builder
	for i := range 2000 {
		if i > 0 {
			entries.WriteByte(',')
		}
		entries.WriteString(`{"resource":{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/123"}}}`)
	}
	head := `{"resourceType":"Bundle","type":"searchset","entry":[` + entries.String()
	for name, tc := range map[string]struct {
		body   string
		abort  bool
		status int // 0: aborted
	}{
		"whole":           {head + `]}`, false, http.StatusOK},
		"aborted":         {head + `],"entry":[]}`, false, 0},
		"refused":         {`{"resourceType":"Bundle","entry":[{}],"entry":[]}`, false, http.StatusBadGateway},
		"fallen back":     {`{"resourceType":"Bundle","type":"history","entry":[` + entries.String() + `]}`, false, http.StatusOK},
		"broken off":      {head, true, 0},
		"broken off soon": {`{"resourceType":"Bundle","entry":[`, true, http.StatusBadGateway},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/fhir+json")
				for i := 0; i < len(tc.body); i += 4096 {
					_, _ = io.WriteString(w, tc.body[i:min(i+4096, len(tc.body))])
				}
				if tc.abort {
					panic(http.ErrAbortHandler)
				}
			})))
			defer srv.Close()
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/fhir/Observation?_include=Observation:performer", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer x")
			res, err := srv.Client().Do(req)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if tc.status == 0 {
				assert.Error(t, err, "aborted")
			} else {
				assert.NoError(t, err)
				assert.Equal(t, tc.status, res.StatusCode)
			}
			srv.Close() // waits for the handler to return
			assert.Zero(t, m.cfg.budget.used.Load(), "budget held after the response")
		})
	}
}
