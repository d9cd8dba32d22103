package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// OperationCall describes a FHIR operation invocation: $name at the system
// level (no Type), type level (Type) or instance level (Type and ID).
type OperationCall struct {
	// Name is the operation, with or without "$" (e.g. "$everything").
	Name string
	// Type and ID select the level; ID requires Type.
	Type, ID string
	// Params are sent as the query string.
	Params url.Values
	// Body is the resource to POST: a Parameters resource, or the single
	// resource input of the operation. nil sends a GET (allowed only for
	// operations without side effects).
	Body []byte
}

// Operation invokes a FHIR operation. A POST is not retried on 429/503
// unless WithRetryNonIdempotent; a GET is.
func (c *Client) Operation(ctx context.Context, call OperationCall, opts ...RequestOption) (*Result, error) {
	name, ok := operationName(call.Name)
	if !ok {
		return nil, fmt.Errorf("%w: operation name %q", ErrInvalidArgument, call.Name)
	}
	var segs []string
	switch {
	case call.ID != "":
		if err := checkTypeID(call.Type, call.ID); err != nil {
			return nil, err
		}
		segs = []string{call.Type, call.ID, name}
	case call.Type != "":
		if err := checkType(call.Type); err != nil {
			return nil, err
		}
		segs = []string{call.Type, name}
	default:
		segs = []string{name}
	}
	method := http.MethodGet
	if call.Body != nil {
		method = http.MethodPost
		if err := checkAnyResource(call.Body); err != nil {
			return nil, err
		}
	}
	r, err := newRequest(method, c.url(call.Params, segs...), call.Body, opts)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, r)
}
