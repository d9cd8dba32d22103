package client

import (
	"context"
	"fmt"
	"net/http"
)

// Batch POSTs a Bundle of type "batch" to the base URL. Each entry
// succeeds or fails on its own: read the entries of the response Bundle.
// Not retried on 429/503 unless WithRetryNonIdempotent.
func (c *Client) Batch(ctx context.Context, bundle []byte, opts ...RequestOption) (*Result, error) {
	return c.postBundle(ctx, "batch", bundle, opts)
}

// Transaction POSTs a Bundle of type "transaction": all entries succeed
// or none. Not retried on 429/503 unless WithRetryNonIdempotent.
func (c *Client) Transaction(ctx context.Context, bundle []byte, opts ...RequestOption) (*Result, error) {
	return c.postBundle(ctx, "transaction", bundle, opts)
}

func (c *Client) postBundle(ctx context.Context, kind string, bundle []byte, opts []RequestOption) (*Result, error) {
	h, err := checkBody(bundle, "Bundle", "")
	if err != nil {
		return nil, err
	}
	if h.Type != kind {
		return nil, fmt.Errorf("%w: Bundle.type is %q, want %q", ErrInvalidArgument, h.Type, kind)
	}
	r, err := newRequest(http.MethodPost, c.url(nil), bundle, opts)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := expectType(res, "Bundle"); err != nil {
		return nil, fmt.Errorf("client: POST %s: %w", redactURL(r.url), err)
	}
	return res, nil
}
