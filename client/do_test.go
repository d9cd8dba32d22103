package client

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const patient1 = `{"resourceType":"Patient","id":"1","meta":{"versionId":"3"}}`

func TestReadSendsHeadersAndToken(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("ETag", `W/"3"`)
		writeFHIR(w, 200, patient1)
	})
	c, _, _ := newTestClient(t, f.URL+"/fhir/", "abc", WithUserAgent("fhirwarden-test"))
	res, err := c.Read(context.Background(), "Patient", "1")
	require.NoError(t, err)
	assert.JSONEq(t, patient1, string(res.Body))
	assert.Equal(t, "3", res.VersionID())
	seen := f.Seen()
	require.Len(t, seen, 1)
	assert.Equal(t, "GET", seen[0].Method)
	assert.Equal(t, "/fhir/Patient/1", seen[0].Path)
	assert.Equal(t, "Bearer abc", seen[0].Header.Get("Authorization"))
	assert.Equal(t, FHIRMediaType, seen[0].Header.Get("Accept"))
	assert.Equal(t, "fhirwarden-test", seen[0].Header.Get("User-Agent"))
}

func TestRetryOnceOn401InvalidToken(t *testing.T) {
	tokSrv := newFakeTokenServer(t)
	var fhirCalls atomic.Int64
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		fhirCalls.Add(1)
		if n == 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token", error_description="token revoked"`)
			writeFHIR(w, 401, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`)
			return
		}
		writeFHIR(w, 200, patient1)
	})
	ts, err := ClientCredentials(tokSrv.URL, "id", "secret")
	require.NoError(t, err)
	c, _, _ := newTestClient(t, f.URL, ts)
	_, err = c.Read(context.Background(), "Patient", "1")
	require.NoError(t, err)
	seen := f.Seen()
	require.Len(t, seen, 2)
	assert.Len(t, tokSrv.Requests(), 2, "the rejected token was dropped and a fresh one fetched")
	assert.NotEqual(t, seen[0].Header.Get("Authorization"), seen[1].Header.Get("Authorization"))
}

func TestRetryOn401OnlyOnce(t *testing.T) {
	tokSrv := newFakeTokenServer(t)
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeFHIR(w, 401, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"audience mismatch"}]}`)
	})
	ts, err := ClientCredentials(tokSrv.URL, "id", "secret")
	require.NoError(t, err)
	c, _, _ := newTestClient(t, f.URL, ts)
	_, err = c.Read(context.Background(), "Patient", "1")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 401, fe.StatusCode)
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, []string{"audience mismatch"}, fe.Diagnostics())
	assert.Contains(t, fe.Challenge, "invalid_token")
	assert.Len(t, f.Seen(), 2, "one retry, not more")
	assert.Len(t, tokSrv.Requests(), 2)
}

func TestNoRetryOn401WithoutInvalidToken(t *testing.T) {
	for name, challenge := range map[string]string{
		"no header":          "",
		"no error attribute": `Bearer realm="fhir"`,
		"invalid_request":    `Bearer error="invalid_request"`,
		"other scheme":       `Basic realm="x", error="invalid_token"`,
	} {
		t.Run(name, func(t *testing.T) {
			tokSrv := newFakeTokenServer(t)
			f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if challenge != "" {
					w.Header().Set("WWW-Authenticate", challenge)
				}
				writeFHIR(w, 401, "")
			})
			ts, err := ClientCredentials(tokSrv.URL, "id", "secret")
			require.NoError(t, err)
			c, _, _ := newTestClient(t, f.URL, ts)
			_, err = c.Read(context.Background(), "Patient", "1")
			assert.ErrorIs(t, err, ErrUnauthorized)
			assert.Len(t, f.Seen(), 1)
			assert.Len(t, tokSrv.Requests(), 1)
		})
	}
}

func TestNoRetryOn401WithStaticToken(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeFHIR(w, 401, "")
	})
	c, _, _ := newTestClient(t, f.URL, "static")
	_, err := c.Read(context.Background(), "Patient", "1")
	assert.ErrorIs(t, err, ErrUnauthorized)
	assert.Len(t, f.Seen(), 1, "a static token cannot be refreshed: no retry")
}

func TestNoRetryOn403(t *testing.T) {
	tokSrv := newFakeTokenServer(t)
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="user/Observation.rs"`)
		writeFHIR(w, 403, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"scope user/Patient.read does not permit Observation"}]}`)
	})
	ts, err := ClientCredentials(tokSrv.URL, "id", "secret")
	require.NoError(t, err)
	c, rs, _ := newTestClient(t, f.URL, ts)
	_, err = c.Read(context.Background(), "Observation", "1")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrForbidden)
	assert.Equal(t, "forbidden", fe.Outcome.Issues[0].Code)
	assert.Contains(t, err.Error(), "does not permit Observation")
	assert.Len(t, f.Seen(), 1)
	assert.Len(t, tokSrv.Requests(), 1, "403 keeps the token")
	assert.Empty(t, rs.Delays())
}

func TestRetryAfter429(t *testing.T) {
	date := newFakeClock().Now().Add(7 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name       string
		retryAfter string
		want       time.Duration
	}{
		{"seconds", "2", 2 * time.Second},
		{"http-date", date, 7 * time.Second},
		{"zero", "0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					writeFHIR(w, 429, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"throttled"}]}`)
					return
				}
				writeFHIR(w, 200, patient1)
			})
			c, rs, _ := newTestClient(t, f.URL, "abc")
			_, err := c.Read(context.Background(), "Patient", "1")
			require.NoError(t, err)
			assert.Len(t, f.Seen(), 2)
			d := rs.Delays()
			require.Len(t, d, 1)
			if tt.want > 0 {
				assert.Equal(t, tt.want, d[0])
			} else {
				// Retry-After: 0 falls back to the jittered backoff.
				p := DefaultRetryPolicy()
				assert.GreaterOrEqual(t, d[0], p.BaseDelay/2)
				assert.LessOrEqual(t, d[0], p.BaseDelay)
			}
		})
	}
}

func TestRetryBoundedWithBackoff(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeFHIR(w, 503, "")
	})
	p := RetryPolicy{MaxRetries: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond, MaxWait: time.Second}
	c, rs, _ := newTestClient(t, f.URL, "abc", WithRetry(p))
	_, err := c.Read(context.Background(), "Patient", "1")
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.Len(t, f.Seen(), 5, "1 attempt + 4 retries")
	d := rs.Delays()
	require.Len(t, d, 4)
	bounds := []time.Duration{100, 200, 300, 300}
	for i, b := range bounds {
		hi := b * time.Millisecond
		assert.GreaterOrEqual(t, d[i], hi/2, "retry %d", i)
		assert.LessOrEqual(t, d[i], hi, "retry %d", i)
	}
}

func TestRetryAfterBeyondMaxWaitGivesUp(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "3600")
		writeFHIR(w, 429, "")
	})
	c, rs, _ := newTestClient(t, f.URL, "abc")
	_, err := c.Read(context.Background(), "Patient", "1")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrTooManyRequests)
	assert.Equal(t, time.Hour, fe.RetryAfter)
	assert.Len(t, f.Seen(), 1)
	assert.Empty(t, rs.Delays())
}

func TestNoRetryForNonIdempotent(t *testing.T) {
	calls := []struct {
		name string
		do   func(c *Client) error
	}{
		{"create", func(c *Client) error {
			_, err := c.Create(context.Background(), "Patient", []byte(`{"resourceType":"Patient"}`))
			return err
		}},
		{"patch", func(c *Client) error {
			_, err := c.Patch(context.Background(), "Patient", "1", []byte(`[{"op":"replace","path":"/active","value":true}]`))
			return err
		}},
		{"transaction", func(c *Client) error {
			_, err := c.Transaction(context.Background(), []byte(`{"resourceType":"Bundle","type":"transaction"}`))
			return err
		}},
		{"operation POST", func(c *Client) error {
			_, err := c.Operation(context.Background(), OperationCall{Name: "$process", Body: []byte(`{"resourceType":"Parameters"}`)})
			return err
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.Header().Set("Retry-After", "1")
				writeFHIR(w, 503, "")
			})
			c, _, _ := newTestClient(t, f.URL, "abc")
			assert.ErrorIs(t, tc.do(c), ErrUnavailable)
			assert.Len(t, f.Seen(), 1, "not retried by default")

			opted, _, _ := newTestClient(t, f.URL, "abc", WithRetryNonIdempotent())
			assert.ErrorIs(t, tc.do(opted), ErrUnavailable)
			assert.Len(t, f.Seen(), 1+1+DefaultRetryPolicy().MaxRetries, "retried when opted in")
		})
	}
}

func TestRetryIdempotentWrites(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			writeFHIR(w, 503, "")
			return
		}
		writeFHIR(w, 200, patient1)
	})
	c, _, _ := newTestClient(t, f.URL, "abc")
	_, err := c.Update(context.Background(), "Patient", "1", []byte(patient1))
	require.NoError(t, err)
	assert.Len(t, f.Seen(), 2, "PUT is idempotent: retried")
}

func TestContextCancelledDuringRetryWait(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "10")
		writeFHIR(w, 503, "")
	})
	c, err := New(f.URL, StaticToken("abc"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Read(ctx, "Patient", "1")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestOperationOutcomeDecoded(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case "/Patient/404":
			writeFHIR(w, 404, outcomeNotFound)
		case "/Patient/gone":
			writeFHIR(w, 410, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"deleted","details":{"text":"deleted on Monday"}}]}`)
		case "/Patient/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			_, _ = w.Write([]byte("<h1>" + strings.Repeat("x", 10000) + "</h1>"))
		case "/Patient/multi":
			writeFHIR(w, 422, `{"resourceType":"OperationOutcome","issue":[
				{"severity":"error","code":"required","diagnostics":"name missing","expression":["Patient.name"]},
				{"severity":"warning","code":"invalid","location":["/f:Patient/f:birthDate"]}]}`)
		}
	})
	c, _, _ := newTestClient(t, f.URL, "abc")
	ctx := context.Background()

	_, err := c.Read(ctx, "Patient", "404")
	var fe *Error
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrNotFound)
	require.NotNil(t, fe.Outcome)
	assert.Equal(t, Issue{Severity: "error", Code: "not-found", Diagnostics: "Patient/404 is not known"}, fe.Outcome.Issues[0])
	assert.Equal(t, "GET", fe.Method)
	assert.Contains(t, err.Error(), "404 Not Found; error not-found: Patient/404 is not known")

	_, err = c.Read(ctx, "Patient", "gone")
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrGone)
	assert.Equal(t, []string{"deleted on Monday"}, fe.Diagnostics())

	_, err = c.Read(ctx, "Patient", "html")
	require.ErrorAs(t, err, &fe)
	assert.Nil(t, fe.Outcome)
	assert.Len(t, fe.Body, maxErrorBody, "raw body kept, truncated")

	_, err = c.Read(ctx, "Patient", "multi")
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrUnprocessable)
	require.Len(t, fe.Outcome.Issues, 2)
	assert.Equal(t, []string{"Patient.name"}, fe.Outcome.Issues[0].Expression)
	assert.Equal(t, []string{"/f:Patient/f:birthDate"}, fe.Outcome.Issues[1].Location)
	assert.Equal(t, []string{"name missing", "invalid"}, fe.Diagnostics())
}

func TestResponseSizeLimit(t *testing.T) {
	big := `{"resourceType":"Patient","id":"1","text":{"div":"` + strings.Repeat("a", 2000) + `"}}`
	for _, chunked := range []bool{false, true} {
		f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
			w.Header().Set("Content-Type", FHIRMediaType)
			if chunked {
				w.WriteHeader(200)
				for i := 0; i < len(big); i += 100 {
					_, _ = w.Write([]byte(big[i:min(i+100, len(big))]))
					w.(http.Flusher).Flush()
				}
				return
			}
			_, _ = w.Write([]byte(big))
		})
		c, _, _ := newTestClient(t, f.URL, "abc", WithMaxResponseBytes(1024))
		_, err := c.Read(context.Background(), "Patient", "1")
		var tl *ResponseTooLargeError
		require.ErrorAs(t, err, &tl, "chunked=%v", chunked)
		assert.ErrorIs(t, err, ErrResponseTooLarge)
		assert.EqualValues(t, 1024, tl.Limit)

		ok, _, _ := newTestClient(t, f.URL, "abc", WithMaxResponseBytes(int64(len(big))))
		_, err = ok.Read(context.Background(), "Patient", "1")
		assert.NoError(t, err, "exactly at the limit is fine")
	}
}

func TestRedirectOutsideBaseRefused(t *testing.T) {
	var evilHits atomic.Int64
	evil := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		evilHits.Add(1)
		writeFHIR(w, 200, patient1)
	})
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Path {
		case "/fhir/Patient/1":
			http.Redirect(w, r, evil.URL+"/fhir/Patient/1", http.StatusFound)
		case "/fhir/Patient/2":
			http.Redirect(w, r, "/other/Patient/2", http.StatusFound)
		case "/fhir/Patient/3":
			http.Redirect(w, r, "/fhir/Patient/4", http.StatusFound)
		default:
			writeFHIR(w, 200, patient1)
		}
	})
	c, _, _ := newTestClient(t, f.URL+"/fhir", "secret-token")
	_, err := c.Read(context.Background(), "Patient", "1")
	assert.ErrorIs(t, err, ErrForeignLink)
	assert.Zero(t, evilHits.Load(), "the token never reaches another origin")
	_, err = c.Read(context.Background(), "Patient", "2")
	assert.ErrorIs(t, err, ErrForeignLink)
	_, err = c.Read(context.Background(), "Patient", "3")
	assert.NoError(t, err, "a redirect within the base is followed")
}

func TestTokenErrorSurfacesAsOAuthError(t *testing.T) {
	tokSrv := newFakeTokenServer(t)
	tokSrv.setAnswer(func(w http.ResponseWriter, _ int) {
		writeJSON(w, 400, map[string]string{"error": "invalid_scope", "error_description": "system/*.* not allowed"})
	})
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) { writeFHIR(w, 200, patient1) })
	ts, err := ClientCredentials(tokSrv.URL, "id", "secret")
	require.NoError(t, err)
	c, _, _ := newTestClient(t, f.URL, ts)
	_, err = c.Read(context.Background(), "Patient", "1")
	var oe *OAuthError
	require.ErrorAs(t, err, &oe)
	assert.ErrorIs(t, err, ErrInvalidScope)
	assert.Empty(t, f.Seen(), "nothing sent without a token")
}
