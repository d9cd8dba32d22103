package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fhirwarden/fhirwarden/internal/origin"
)

// Authorize puts the client's credentials on a request the caller sends
// itself (e.g. a Bulk Data status or file URL outside the base path): an
// Authorization header with a token from the client's token source, in
// the token's scheme, and for a DPoP-bound token a fresh proof for req's
// method and URL. req must go to the FHIR server's origin (the base URL's
// scheme, host and port: origin.Same), else it is refused with ErrForeignLink and nothing is
// added; the caller must not let it follow redirects elsewhere. Without a
// token source Authorize does nothing.
func (c *Client) Authorize(ctx context.Context, req *http.Request) error {
	u := req.URL
	if u == nil || !origin.Same(u, c.base) || u.User != nil {
		return fmt.Errorf("%w: %s is not on %s://%s", ErrForeignLink, redactedURL(req), c.base.Scheme, c.base.Host)
	}
	tok, err := c.token(ctx)
	if err != nil || tok == nil {
		return err
	}
	req.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
	if err := c.signDPoP(req, tok); err != nil {
		return fmt.Errorf("client: %s %s: %w", req.Method, redactURL(u), err)
	}
	return nil
}

// DPoPNonceRequested is for the answer to a request sent with Authorize's
// credentials: it keeps resp's DPoP-Nonce header, if any, for the proofs
// the client signs next, and reports whether resp refuses the request for
// want of that nonce (a 401 with a DPoP use_dpop_nonce challenge, RFC 9449
// section 9). Then send the request once more, authorized anew so that its
// proof carries the nonce; a second refusal is the server's answer, not a
// reason to try again. Without a DPoP key it reports false.
func (c *Client) DPoPNonceRequested(resp *http.Response) bool {
	if resp == nil {
		return false
	}
	c.dpopNonce.note(resp.Header)
	return c.useDPoPNonce(resp.StatusCode, resp.Header)
}

// redactedURL is req's URL without credentials or query, "" when absent.
func redactedURL(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	return redactURL(req.URL)
}
