package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Read fetches Type/id (FHIR read).
func (c *Client) Read(ctx context.Context, typ, id string, opts ...RequestOption) (*Result, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	return c.fetchResource(ctx, typ, opts, typ, id)
}

// VRead fetches version vid of Type/id (FHIR vread).
func (c *Client) VRead(ctx context.Context, typ, id, vid string, opts ...RequestOption) (*Result, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	if !validID(vid) {
		return nil, fmt.Errorf("%w: version id %q", ErrInvalidArgument, vid)
	}
	return c.fetchResource(ctx, typ, opts, typ, id, "_history", vid)
}

// Capabilities fetches the server's CapabilityStatement (GET {base}/metadata).
func (c *Client) Capabilities(ctx context.Context, opts ...RequestOption) (*Result, error) {
	return c.fetchResource(ctx, "CapabilityStatement", opts, "metadata")
}

// fetchResource GETs a path and checks the answer is a resource of typ.
func (c *Client) fetchResource(ctx context.Context, typ string, opts []RequestOption, segs ...string) (*Result, error) {
	r, err := newRequest(http.MethodGet, c.url(nil, segs...), nil, opts)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := expectType(res, typ); err != nil {
		return nil, fmt.Errorf("client: GET %s: %w", redactURL(r.url), err)
	}
	return res, nil
}

// expectType checks a result body is a resource of type typ.
func expectType(res *Result, typ string) error {
	var h resourceHeader
	if err := json.Unmarshal(res.Body, &h); err != nil {
		return fmt.Errorf("%w: body is not FHIR JSON: %w", ErrUnexpectedResponse, err)
	}
	if h.ResourceType != typ {
		return fmt.Errorf("%w: got a %q, want %q", ErrUnexpectedResponse, h.ResourceType, typ)
	}
	return nil
}

// Create POSTs a new resource of type typ (FHIR create). With
// IfNoneExist it is a conditional create. The Result's Location names the
// new resource; its body is empty when the server returns nothing.
// Create is not retried on 429/503 unless WithRetryNonIdempotent.
func (c *Client) Create(ctx context.Context, typ string, resource []byte, opts ...RequestOption) (*Result, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	if _, err := checkBody(resource, typ, ""); err != nil {
		return nil, err
	}
	r, err := newRequest(http.MethodPost, c.url(nil, typ), resource, opts)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, r)
}

// Update PUTs resource as Type/id (FHIR update). The body's resourceType
// and id must match. Pass IfMatch(version) for a version-aware update.
func (c *Client) Update(ctx context.Context, typ, id string, resource []byte, opts ...RequestOption) (*Result, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	if _, err := checkBody(resource, typ, id); err != nil {
		return nil, err
	}
	r, err := newRequest(http.MethodPut, c.url(nil, typ, id), resource, opts)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, r)
}

// jsonPatchMediaType is the Content-Type of a JSON Patch (RFC 6902).
const jsonPatchMediaType = "application/json-patch+json"

// Patch applies a JSON Patch (RFC 6902: a JSON array of operations) to
// Type/id (FHIR patch). It is not retried on 429/503 unless
// WithRetryNonIdempotent.
func (c *Client) Patch(ctx context.Context, typ, id string, patch []byte, opts ...RequestOption) (*Result, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	var ops []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &ops); err != nil || len(ops) == 0 {
		return nil, fmt.Errorf("%w: a JSON Patch is a non-empty JSON array of operations", ErrInvalidArgument)
	}
	for i, op := range ops {
		if _, ok := op["op"]; !ok {
			return nil, fmt.Errorf("%w: JSON Patch operation #%d has no \"op\"", ErrInvalidArgument, i+1)
		}
		if _, ok := op["path"]; !ok {
			return nil, fmt.Errorf("%w: JSON Patch operation #%d has no \"path\"", ErrInvalidArgument, i+1)
		}
	}
	r, err := newRequest(http.MethodPatch, c.url(nil, typ, id), patch, opts)
	if err != nil {
		return nil, err
	}
	r.contentType = jsonPatchMediaType
	return c.do(ctx, r)
}

// Delete removes Type/id (FHIR delete).
func (c *Client) Delete(ctx context.Context, typ, id string, opts ...RequestOption) (*Result, error) {
	if err := checkTypeID(typ, id); err != nil {
		return nil, err
	}
	r, err := newRequest(http.MethodDelete, c.url(nil, typ, id), nil, opts)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, r)
}
