package client

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// WithDPoP makes a token source obtain DPoP-bound tokens (RFC 9449): every
// token request carries a proof signed by key, answered with a
// token_type DPoP token bound to it; a token of another type (a server
// that ignored the proof) is refused with ErrDPoPNotBound, never sent
// as a bearer token. A Client built on that source sends
// a fresh proof with every FHIR request (each page of a search, each
// retry), and follows the server nonces (use_dpop_nonce) of both the token
// endpoint and the FHIR server.
func WithDPoP(key *DPoPKey) TokenOption {
	return func(c *tokenConfig) error {
		if key == nil {
			return fmt.Errorf("%w: nil DPoP key", ErrConfig)
		}
		c.dpop = key
		return nil
	}
}

// DPoPKey is the key the source's tokens are bound to (nil without
// WithDPoP).
func (c *TokenCache) DPoPKey() *DPoPKey { return c.dpop }

// dpopNonce is the latest nonce a server asked proofs to carry.
type dpopNonce struct {
	mu sync.Mutex
	v  string
}

func (n *dpopNonce) get() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.v
}

// note keeps the DPoP-Nonce of a response, if it has one, and reports
// whether it is a new one.
func (n *dpopNonce) note(h http.Header) bool {
	v := h.Get("DPoP-Nonce")
	if v == "" {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	changed := v != n.v
	n.v = v
	return changed
}

// dpopTransport puts a proof on every token request and retries once when
// the token endpoint asks for a (new) nonce, unless the token source
// answers nonce challenges itself (freshBody).
type dpopTransport struct {
	key   *DPoPKey
	next  http.RoundTripper
	nonce dpopNonce
	// freshBody is set by a token source whose requests must not be sent
	// twice (Backend Services: a client assertion's jti is single use); it
	// calls nonceChallenge and builds a new request instead.
	freshBody bool
}

// dpopHTTPClient returns a copy of hc whose requests carry DPoP proofs,
// and the transport that signs them.
func dpopHTTPClient(hc *http.Client, key *DPoPKey) (*http.Client, *dpopTransport) {
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	t := &dpopTransport{key: key, next: next}
	copied := *hc
	copied.Transport = t
	return &copied, t
}

// nonceChallenge keeps the nonce of a token endpoint answer and reports
// whether the answer refuses the request for want of that (new) nonce:
// then the request is worth sending once more.
func (t *dpopTransport) nonceChallenge(resp *http.Response) bool {
	return (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized) &&
		t.nonce.note(resp.Header)
}

// RoundTrip implements http.RoundTripper.
func (t *dpopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.send(req)
	if err != nil || t.freshBody {
		return resp, err
	}
	if !t.nonceChallenge(resp) || req.Body != nil && req.GetBody == nil {
		return resp, nil
	}
	resp.Body.Close()
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
	}
	return t.send(req)
}

func (t *dpopTransport) send(req *http.Request) (*http.Response, error) {
	proof, err := t.key.Proof(req.Method, req.URL.String(), "", t.nonce.get())
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("DPoP", proof)
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode < 300 {
		t.nonce.note(resp.Header)
	}
	return resp, err
}

// signDPoP adds a fresh proof to a FHIR request carrying a DPoP token.
func (c *Client) signDPoP(req *http.Request, tok *oauth2.Token) error {
	if c.dpop == nil || tok == nil || !strings.EqualFold(tok.Type(), "DPoP") {
		return nil
	}
	proof, err := c.dpop.Proof(req.Method, req.URL.String(), tok.AccessToken, c.dpopNonce.get())
	if err != nil {
		return err
	}
	req.Header.Set("DPoP", proof)
	return nil
}

// resignDPoP replaces the proof net/http copied onto a redirected request:
// that proof names the previous URL (and method) and its jti was used
// already, so a server checking htu or replays refuses it.
func (c *Client) resignDPoP(req *http.Request) error {
	if c.dpop == nil || req.Header.Get("DPoP") == "" {
		return nil
	}
	scheme, at, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "DPoP") {
		req.Header.Del("DPoP")
		return nil
	}
	proof, err := c.dpop.Proof(req.Method, req.URL.String(), at, c.dpopNonce.get())
	if err != nil {
		return fmt.Errorf("client: redirect to %s: %w", redactURL(req.URL), err)
	}
	req.Header.Set("DPoP", proof)
	return nil
}

// useDPoPNonce reports whether a FHIR server's 401 asks for a nonce it has
// just sent (RFC 9449 section 9): then the request is sent again, once,
// with a proof carrying it.
func (c *Client) useDPoPNonce(status int, h http.Header) bool {
	if c.dpop == nil || status != http.StatusUnauthorized || h.Get("DPoP-Nonce") == "" {
		return false
	}
	for _, ch := range parseChallenges(h.Values("WWW-Authenticate")) {
		if strings.EqualFold(ch.scheme, "DPoP") && ch.params["error"] == "use_dpop_nonce" {
			return true
		}
	}
	return false
}

// dpopKeyOf is the DPoP key of a token source built WithDPoP.
func dpopKeyOf(ts oauth2.TokenSource) *DPoPKey {
	if s, ok := ts.(interface{ DPoPKey() *DPoPKey }); ok {
		return s.DPoPKey()
	}
	return nil
}
