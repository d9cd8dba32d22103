package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/fhirwarden/fhirwarden/internal/dpoperr"
	"github.com/fhirwarden/fhirwarden/internal/dpopurl"
)

// Errors of DPoP (RFC 9449). A resource server answers each with 401 and a
// "WWW-Authenticate: DPoP" challenge carrying the error code in the
// comment, except ErrReplayUnavailable (503).
var (
	// ErrDPoPProof: the DPoP proof is missing, malformed, signed badly,
	// made for another request, stale, replayed, or made with a key other
	// than the one the token is bound to (error code invalid_dpop_proof).
	ErrDPoPProof = errors.New("token: invalid DPoP proof")
	// ErrDPoPNonce: the server requires a nonce and the proof has none or
	// a stale one (error code use_dpop_nonce; send the current nonce in a
	// DPoP-Nonce header).
	ErrDPoPNonce = dpoperr.ErrNonce
	// ErrReplayUnavailable: the replay cache could not record the proof
	// (a shared store is down, or the in-memory cache is full of proofs
	// still in their window). The proof is refused: answer 503.
	ErrReplayUnavailable = dpoperr.ErrReplayUnavailable
)

// DPoP defaults.
const (
	// defaultProofMaxAge is how long after its iat a proof is accepted.
	defaultProofMaxAge = 60 * time.Second
	// defaultProofLeeway is how far in the future a proof's iat may be
	// (clock skew between client and server).
	defaultProofLeeway = 5 * time.Second
	// defaultMaxProofSize bounds a proof (a jwk of an 8192-bit RSA key and
	// its signature fit).
	defaultMaxProofSize = 8 << 10
)

// DefaultDPoPAlgorithms are the proof algorithms accepted unless
// configured otherwise: asymmetric only, as RFC 9449 section 4.2 requires.
var DefaultDPoPAlgorithms = []string{"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"}

// DPoPConfig configures a DPoPChecker. The zero value is usable: the
// default algorithms, window and size, an in-memory replay cache, no
// server nonce.
type DPoPConfig struct {
	// Algorithms allowed for proofs (asymmetric JWA names only).
	Algorithms []string
	// MaxAge is how long after its iat a proof is accepted (default 60 s);
	// Leeway how far in the future its iat may be (default 5 s).
	MaxAge, Leeway time.Duration
	// MaxProofSize bounds the DPoP header in bytes (default 8 KiB).
	MaxProofSize int
	// Replay remembers the proofs seen within their window, until iat +
	// MaxAge + Leeway (default: an in-memory cache of 100,000 proofs, on
	// Clock). Give every replica of a service the same shared store
	// (package dpopredis), or a proof replayed to another replica is
	// accepted there.
	Replay ReplayCache
	// Nonces, when set, makes every proof carry a current server nonce
	// (RFC 9449 section 9).
	Nonces NonceSource
	// AllowUnbound admits a token without a cnf.jkt presented with the
	// DPoP scheme and a valid proof. By default it is refused: the client
	// believes the token bound, and the server would treat it as bearer.
	AllowUnbound bool
	// Clock replaces time.Now (tests).
	Clock func() time.Time
}

// DPoPChecker verifies DPoP proofs (RFC 9449) and the binding of DPoP
// tokens to their proof key. It is safe for concurrent use.
type DPoPChecker struct {
	algs         algSet
	algNames     string
	maxAge       time.Duration
	leeway       time.Duration
	maxSize      int
	replay       ReplayCache
	nonces       NonceSource
	allowUnbound bool
	now          func() time.Time
}

// NewDPoPChecker validates cfg and fills in its defaults.
func NewDPoPChecker(cfg DPoPConfig) (*DPoPChecker, error) {
	c := &DPoPChecker{
		maxAge: cfg.MaxAge, leeway: cfg.Leeway, maxSize: cfg.MaxProofSize,
		replay: cfg.Replay, nonces: cfg.Nonces, allowUnbound: cfg.AllowUnbound, now: cfg.Clock,
	}
	names := cfg.Algorithms
	if len(names) == 0 {
		names = DefaultDPoPAlgorithms
	}
	for _, n := range names {
		a := parseAlgorithm(n)
		if a == algInvalid || a.isHMAC() {
			return nil, fmt.Errorf("%w: DPoP algorithm %q is not an asymmetric JWS algorithm", ErrConfig, n)
		}
		c.algs = c.algs.with(a)
	}
	c.algNames = c.algs.String()
	switch {
	case c.maxAge < 0 || c.leeway < 0 || c.maxSize < 0:
		return nil, fmt.Errorf("%w: negative DPoP window, leeway or size", ErrConfig)
	case c.maxAge == 0:
		c.maxAge = defaultProofMaxAge
	}
	if c.leeway == 0 {
		c.leeway = defaultProofLeeway
	}
	if c.maxSize == 0 {
		c.maxSize = defaultMaxProofSize
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.replay == nil {
		// On the checker's clock: the entries must expire when the
		// checker stops accepting their proofs, not on another clock.
		m := NewMemoryReplayCache(defaultReplayCacheSize)
		m.now = c.now
		c.replay = m
	}
	return c, nil
}

// Algorithms is the space-separated list of accepted proof algorithms, for
// the algs parameter of a DPoP challenge.
func (c *DPoPChecker) Algorithms() string { return c.algNames }

// Nonce is the nonce a client must put in its next proof ("" when the
// checker requires none), for the DPoP-Nonce response header.
func (c *DPoPChecker) Nonce() string {
	if c.nonces == nil {
		return ""
	}
	return c.nonces.Nonce(c.now())
}

// ProofRequest is the HTTP request a proof came with.
type ProofRequest struct {
	// Method is the request's method.
	Method string
	// URL is the request's target URI as the client addressed it (behind
	// a proxy: the external URL), without query and fragment.
	URL string
	// AccessToken is the token the request carries ("" at a token
	// endpoint): the proof's ath must be its hash.
	AccessToken string
}

// Proof is a verified DPoP proof.
type Proof struct {
	// JKT is the thumbprint of the proof's key (RFC 7638, SHA-256): the
	// cnf.jkt of a token bound to it.
	JKT string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
}

// Check verifies a proof for req and records it as used. It is what an
// authorization server's token endpoint needs (RFC 9449 section 5); a
// resource server uses Authenticate.
func (c *DPoPChecker) Check(ctx context.Context, proof string, req ProofRequest) (*Proof, error) {
	p, err := c.check(proof, req)
	if err != nil {
		return nil, err
	}
	if err := c.record(ctx, p); err != nil {
		return nil, err
	}
	return &Proof{JKT: p.jkt, IssuedAt: p.iat}, nil
}

// VerifyProof is Check for a token request (no access token), returning
// the proof key's thumbprint: the DPoP verifier of an authorization server.
func (c *DPoPChecker) VerifyProof(ctx context.Context, proof, method, url string) (string, error) {
	p, err := c.Check(ctx, proof, ProofRequest{Method: method, URL: url})
	if err != nil {
		return "", err
	}
	return p.JKT, nil
}

// Authenticate admits a request made with "Authorization: DPoP <raw>" and
// a "DPoP: <proof>" header: the proof must be valid for req (whose
// AccessToken is set to raw), the token valid for auth, and the token
// bound to the proof's key. The verified-token cache of auth may answer
// for the token; the proof is checked afresh every time.
func (c *DPoPChecker) Authenticate(ctx context.Context, auth BoundAuthenticator, raw, proof string, req ProofRequest) (*Principal, error) {
	req.AccessToken = raw
	p, err := c.check(proof, req)
	if err != nil {
		return nil, err
	}
	pr, err := auth.AuthenticateBound(ctx, raw)
	if err != nil {
		return nil, err
	}
	if pr == nil {
		// A BoundAuthenticator of the caller's that breaks its contract
		// authenticated nobody.
		return nil, fail(ErrInactive, "the token was not authenticated")
	}
	switch conf := pr.Confirmation; {
	case conf.JKT != "":
		if subtle.ConstantTimeCompare([]byte(conf.JKT), []byte(p.jkt)) != 1 {
			return nil, fail(ErrDPoPProof, "the proof is signed by a key other than the one the token is bound to (cnf.jkt)")
		}
	case conf.Bound():
		return nil, fail(ErrSenderConstrained, "token is bound to a TLS client certificate, not a DPoP key")
	case !c.allowUnbound:
		return nil, fail(ErrSenderConstrained, "token is not bound to a DPoP key (no cnf.jkt): present it with the Bearer scheme")
	}
	if err := c.record(ctx, p); err != nil {
		return nil, err
	}
	return pr, nil
}

// check verifies everything but the replay: the proof itself, then the
// request it must have been made for, its age, its ath and its nonce.
func (c *DPoPChecker) check(proof string, req ProofRequest) (*dpopProof, error) {
	p, err := parseProof(proof, c.algs, c.maxSize)
	if err != nil {
		return nil, err
	}
	if p.htm != req.Method {
		return nil, fail(ErrDPoPProof, "proof htm %s is not the request method %s", quoteShort(p.htm), req.Method)
	}
	htu, err := dpopurl.Normalize(p.htu)
	if err != nil {
		return nil, fail(ErrDPoPProof, "%s", err)
	}
	want, err := dpopurl.Normalize(req.URL)
	if err != nil {
		return nil, fail(ErrDPoPProof, "the request URL: %s", err)
	}
	if htu != want {
		return nil, fail(ErrDPoPProof, "proof htu is not the request URL %s", quoteShort(want))
	}
	now := c.now()
	switch {
	case p.iat.After(now.Add(c.leeway)):
		return nil, fail(ErrDPoPProof, "proof iat is %s in the future", p.iat.Sub(now).Truncate(time.Second))
	case now.Sub(p.iat) > c.maxAge:
		return nil, fail(ErrDPoPProof, "proof is %s old, older than %s", now.Sub(p.iat).Truncate(time.Second), c.maxAge)
	}
	if err := checkATH(p.ath, req.AccessToken); err != nil {
		return nil, err
	}
	if c.nonces != nil && (p.nonce == "" || !c.nonces.Valid(p.nonce, now)) {
		return nil, fail(ErrDPoPNonce, "proof has no current server nonce")
	}
	return p, nil
}

// checkATH checks the proof's ath against the access token: the base64url
// SHA-256 of the token (RFC 9449 section 4.2). A proof for a token
// endpoint (no token) must have none.
func checkATH(ath, accessToken string) error {
	if accessToken == "" {
		if ath != "" {
			return fail(ErrDPoPProof, "proof has an ath but the request carries no access token")
		}
		return nil
	}
	if ath == "" {
		return fail(ErrDPoPProof, "proof claim ath is missing")
	}
	sum := sha256.Sum256([]byte(accessToken))
	var want [43]byte
	b64.Encode(want[:], sum[:])
	if subtle.ConstantTimeCompare([]byte(ath), want[:]) != 1 {
		return fail(ErrDPoPProof, "proof ath is not the hash of the access token")
	}
	return nil
}

// record remembers the proof's jti until it is too old to be accepted
// anyway: iat + MaxAge + Leeway. The key joins the proof key's thumbprint
// to the jti, so that one client cannot spend another's jti.
//
// The proof's age is judged again here, on the checker's clock: check
// judged it when the request arrived, and token authentication since
// (revocation, introspection, a JWKS refetch) may have taken seconds. A
// proof accepted past the instant its first use's entry expires would
// find the store empty and pass as new (a replay); refusing it then keeps
// every accepted proof inside the window its first use is remembered in.
// Recording before the token check instead would let anyone with a
// self-signed proof fill the store.
func (c *DPoPChecker) record(ctx context.Context, p *dpopProof) error {
	expires := p.iat.Add(c.maxAge + c.leeway)
	if now := c.now(); !now.Before(expires) {
		return fail(ErrDPoPProof, "proof expired while the token was checked (%s old, the replay window is %s)",
			now.Sub(p.iat).Truncate(time.Second), c.maxAge+c.leeway)
	}
	sum := sha256.Sum256([]byte(p.jkt + "." + p.jti))
	key := b64.EncodeToString(sum[:])
	seen, err := c.replay.Seen(ctx, key, expires)
	switch {
	case err != nil:
		return failWrap(ErrReplayUnavailable, err, "proof could not be recorded")
	case seen:
		return fail(ErrDPoPProof, "proof jti was used before (replay)")
	}
	return nil
}
