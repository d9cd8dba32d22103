package client

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInteractions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		call      func(c *Client) (*Result, error)
		method    string
		path      string
		query     string
		ctype     string
		headers   map[string]string
		bodyCheck string
	}{
		{name: "vread", call: func(c *Client) (*Result, error) { return c.VRead(ctx, "Patient", "1", "2") },
			method: "GET", path: "/fhir/Patient/1/_history/2"},
		{name: "capabilities", call: func(c *Client) (*Result, error) { return c.Capabilities(ctx) },
			method: "GET", path: "/fhir/metadata"},
		{name: "create", call: func(c *Client) (*Result, error) {
			return c.Create(ctx, "Patient", []byte(`{"resourceType":"Patient","active":true}`))
		}, method: "POST", path: "/fhir/Patient", ctype: FHIRMediaType, bodyCheck: `{"resourceType":"Patient","active":true}`},
		{name: "conditional create", call: func(c *Client) (*Result, error) {
			return c.Create(ctx, "Patient", []byte(`{"resourceType":"Patient"}`), IfNoneExist("identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009"))
		}, method: "POST", path: "/fhir/Patient", headers: map[string]string{"If-None-Exist": "identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009"}},
		{name: "update if-match version", call: func(c *Client) (*Result, error) {
			return c.Update(ctx, "Patient", "1", []byte(patient1), IfMatch("3"))
		}, method: "PUT", path: "/fhir/Patient/1", ctype: FHIRMediaType, headers: map[string]string{"If-Match": `W/"3"`}},
		{name: "update if-match etag", call: func(c *Client) (*Result, error) {
			return c.Update(ctx, "Patient", "1", []byte(patient1), IfMatch(`W/"7"`), Prefer("return=representation"))
		}, method: "PUT", path: "/fhir/Patient/1", headers: map[string]string{"If-Match": `W/"7"`, "Prefer": "return=representation"}},
		{name: "patch", call: func(c *Client) (*Result, error) {
			return c.Patch(ctx, "Patient", "1", []byte(`[{"op":"replace","path":"/active","value":false}]`), IfMatch("3"))
		}, method: "PATCH", path: "/fhir/Patient/1", ctype: jsonPatchMediaType, headers: map[string]string{"If-Match": `W/"3"`}},
		{name: "delete", call: func(c *Client) (*Result, error) { return c.Delete(ctx, "Patient", "1") },
			method: "DELETE", path: "/fhir/Patient/1"},
		{name: "batch", call: func(c *Client) (*Result, error) {
			return c.Batch(ctx, []byte(`{"resourceType":"Bundle","type":"batch","entry":[]}`))
		}, method: "POST", path: "/fhir", ctype: FHIRMediaType},
		{name: "transaction", call: func(c *Client) (*Result, error) {
			return c.Transaction(ctx, []byte(`{"resourceType":"Bundle","type":"transaction","entry":[]}`))
		}, method: "POST", path: "/fhir"},
		{name: "system operation GET", call: func(c *Client) (*Result, error) {
			return c.Operation(ctx, OperationCall{Name: "versions"})
		}, method: "GET", path: "/fhir/$versions"},
		{name: "type operation", call: func(c *Client) (*Result, error) {
			return c.Operation(ctx, OperationCall{Name: "$validate", Type: "Patient", Body: []byte(`{"resourceType":"Patient"}`)})
		}, method: "POST", path: "/fhir/Patient/$validate", ctype: FHIRMediaType},
		{name: "instance operation", call: func(c *Client) (*Result, error) {
			return c.Operation(ctx, OperationCall{Name: "$everything", Type: "Patient", ID: "1", Params: url.Values{"_count": {"10"}}})
		}, method: "GET", path: "/fhir/Patient/1/$everything", query: "_count=10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
				switch {
				case r.URL.Path == "/fhir/metadata":
					writeFHIR(w, 200, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1"}`)
				case r.URL.Path == "/fhir":
					writeFHIR(w, 200, `{"resourceType":"Bundle","type":"batch-response"}`)
				case r.Method == "DELETE":
					w.WriteHeader(204)
				case r.Method == "POST" && r.URL.Path == "/fhir/Patient":
					w.Header().Set("Location", "/fhir/Patient/9/_history/1")
					w.Header().Set("ETag", `W/"1"`)
					w.WriteHeader(201)
				default:
					writeFHIR(w, 200, patient1)
				}
			})
			c, _, _ := newTestClient(t, f.URL+"/fhir", "abc")
			res, err := tt.call(c)
			require.NoError(t, err)
			seen := f.Seen()
			require.Len(t, seen, 1)
			s := seen[0]
			assert.Equal(t, tt.method, s.Method)
			assert.Equal(t, tt.path, s.Path)
			assert.Equal(t, tt.query, s.RawQuery)
			assert.Equal(t, "Bearer abc", s.Header.Get("Authorization"))
			if tt.ctype != "" {
				assert.Equal(t, tt.ctype, s.Header.Get("Content-Type"))
			}
			for k, v := range tt.headers {
				assert.Equal(t, v, s.Header.Get(k), k)
			}
			if tt.bodyCheck != "" {
				assert.JSONEq(t, tt.bodyCheck, s.Body)
			}
			if tt.method == "POST" && tt.path == "/fhir/Patient" {
				assert.Equal(t, "/fhir/Patient/9/_history/1", res.Location())
				assert.Equal(t, "1", res.VersionID())
			}
		})
	}
}

func TestHostileArgumentsRejectedBeforeSending(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) { writeFHIR(w, 200, patient1) })
	c, _, _ := newTestClient(t, f.URL+"/fhir", "abc")
	ctx := context.Background()
	ids := []string{"", ".", "..", "../Observation/1", "1/_history/2", "1?_format=xml", "1#x", "%2e%2e", "a b", "1\r\nX-Evil: 1",
		"ä", string(make([]byte, 65))}
	for _, id := range ids {
		_, err := c.Read(ctx, "Patient", id)
		assert.ErrorIs(t, err, ErrInvalidArgument, "id %q", id)
		_, err = c.Delete(ctx, "Patient", id)
		assert.ErrorIs(t, err, ErrInvalidArgument, "id %q", id)
	}
	for _, typ := range []string{"", "patient", "Patient/1", "../metadata", "Pat ient", "Patient?x=1", "$everything", "Patient1"} {
		_, err := c.Read(ctx, typ, "1")
		assert.ErrorIs(t, err, ErrInvalidArgument, "type %q", typ)
		_, err = c.Create(ctx, typ, []byte(`{"resourceType":"Patient"}`))
		assert.ErrorIs(t, err, ErrInvalidArgument, "type %q", typ)
	}
	bad := []struct {
		name string
		call func() error
	}{
		{"vread bad version", func() error { _, err := c.VRead(ctx, "Patient", "1", "../2"); return err }},
		{"create wrong type", func() error { _, err := c.Create(ctx, "Patient", []byte(`{"resourceType":"Observation"}`)); return err }},
		{"create not json", func() error { _, err := c.Create(ctx, "Patient", []byte(`<Patient/>`)); return err }},
		{"create empty", func() error { _, err := c.Create(ctx, "Patient", nil); return err }},
		{"update id mismatch", func() error {
			_, err := c.Update(ctx, "Patient", "1", []byte(`{"resourceType":"Patient","id":"2"}`))
			return err
		}},
		{"update no id", func() error {
			_, err := c.Update(ctx, "Patient", "1", []byte(`{"resourceType":"Patient"}`))
			return err
		}},
		{"patch object", func() error { _, err := c.Patch(ctx, "Patient", "1", []byte(`{"op":"add"}`)); return err }},
		{"patch empty", func() error { _, err := c.Patch(ctx, "Patient", "1", []byte(`[]`)); return err }},
		{"patch no path", func() error { _, err := c.Patch(ctx, "Patient", "1", []byte(`[{"op":"remove"}]`)); return err }},
		{"batch as transaction", func() error {
			_, err := c.Transaction(ctx, []byte(`{"resourceType":"Bundle","type":"batch"}`))
			return err
		}},
		{"batch not bundle", func() error { _, err := c.Batch(ctx, []byte(`{"resourceType":"Patient","type":"batch"}`)); return err }},
		{"if-match injection", func() error {
			_, err := c.Update(ctx, "Patient", "1", []byte(patient1), IfMatch("W/\"1\"\r\nX-Evil: 1"))
			return err
		}},
		{"if-match garbage", func() error { _, err := c.Update(ctx, "Patient", "1", []byte(patient1), IfMatch(`W/"1`)); return err }},
		{"if-none-exist injection", func() error {
			_, err := c.Create(ctx, "Patient", []byte(`{"resourceType":"Patient"}`), IfNoneExist("a=b\r\nX: y"))
			return err
		}},
		{"authorization override", func() error {
			_, err := c.Read(ctx, "Patient", "1", WithHeader("Authorization", "Bearer other"))
			return err
		}},
		{"operation bad name", func() error { _, err := c.Operation(ctx, OperationCall{Name: "$../x"}); return err }},
		{"operation id without type", func() error { _, err := c.Operation(ctx, OperationCall{Name: "x", ID: "1"}); return err }},
		{"operation body not resource", func() error {
			_, err := c.Operation(ctx, OperationCall{Name: "x", Body: []byte(`[]`)})
			return err
		}},
	}
	for _, b := range bad {
		assert.ErrorIs(t, b.call(), ErrInvalidArgument, b.name)
	}
	assert.Empty(t, f.Seen(), "nothing reached the server")
}

func TestReadChecksResourceType(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeFHIR(w, 200, `{"resourceType":"Observation","id":"1"}`)
	})
	c, _, _ := newTestClient(t, f.URL, "abc")
	_, err := c.Read(context.Background(), "Patient", "1")
	assert.ErrorIs(t, err, ErrUnexpectedResponse)
}

func TestNewValidatesConfiguration(t *testing.T) {
	for _, base := range []string{"", "fhir", "/fhir", "ftp://x/fhir", "https://u:p@x/fhir", "https://x/fhir?a=b", "https://x/fhir#f", "https://x/a/../fhir", "https:///fhir"} {
		_, err := New(base, nil)
		assert.ErrorIs(t, err, ErrConfig, "base %q", base)
	}
	bad := []Option{WithHTTPClient(nil), WithFHIRVersion(fhirspec.Version(0)), WithMaxResponseBytes(0), WithMaxPages(0),
		WithRetry(RetryPolicy{MaxRetries: 1}), WithRetry(RetryPolicy{MaxRetries: -1}), withRetryClock(nil, nil)}
	for i, o := range bad {
		_, err := New("https://x/fhir", nil, o)
		assert.ErrorIs(t, err, ErrConfig, "option %d", i)
	}
	_, err := New("http://fhir.example/fhir", StaticToken("t"))
	assert.ErrorIs(t, err, ErrConfig, "bearer tokens over plain http to a remote host")
	_, err = New("http://fhir.example/fhir", StaticToken("t"), WithInsecureHTTP())
	assert.NoError(t, err, "allowed when asked")
	_, err = New("http://fhir.example/fhir", nil)
	assert.NoError(t, err, "no token, nothing to leak")
	_, err = New("http://localhost:8080/fhir", StaticToken("t"))
	assert.NoError(t, err, "loopback")
	c, err := New("https://X.example/fhir/", nil, WithFHIRVersion(fhirspec.STU3))
	require.NoError(t, err)
	assert.Equal(t, "https://x.example/fhir", c.BaseURL())
	assert.Equal(t, fhirspec.STU3, c.Version())
}

func TestNoTokenSourceSendsNoAuthorization(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeFHIR(w, 200, `{"resourceType":"CapabilityStatement"}`)
	})
	c, _, _ := newTestClient(t, f.URL, nil)
	_, err := c.Capabilities(context.Background())
	require.NoError(t, err)
	assert.Empty(t, f.Seen()[0].Header.Get("Authorization"))
}

func TestSplitReference(t *testing.T) {
	typ, id, err := SplitReference("Patient/123")
	require.NoError(t, err)
	assert.Equal(t, "Patient", typ)
	assert.Equal(t, "123", id)
	for _, bad := range []string{"Patient", "Patient/", "/1", "Patient/1/_history/2", "patient/1", "Patient/../x"} {
		_, _, err := SplitReference(bad)
		assert.ErrorIs(t, err, ErrInvalidArgument, bad)
	}
}
