package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Config is what a Verifier must be told; everything else has a default
// and an option.
type Config struct {
	// Issuer is the exact "iss" value tokens must carry. Required.
	Issuer string
	// Audience must be contained in the tokens' "aud" (this resource
	// server's identifier, often its FHIR base URL). Audience or Audiences
	// is required.
	Audience string
	// Audiences are further accepted audiences (the FHIR base under
	// another host name): a token is accepted if its "aud" contains
	// Audience or any of them.
	Audiences []string
	// Claims says where this issuer puts scopes, client id and launch
	// context (see ClaimMapping and Profile). The zero value is the SMART
	// profile.
	Claims ClaimMapping
	// JWKSURL is the issuer's key set (see DiscoverOpenID). Keys are fetched,
	// cached and refreshed. Either JWKSURL or Keys is required, unless only
	// HS* algorithms are allowed (WithSharedSecret).
	JWKSURL string
	// Keys is a fixed key set, used instead of fetching one.
	Keys jwk.Set
}

// Verifier is an Authenticator for JWT access tokens signed by a key of the
// issuer's JWKS (RFC 7515, 7519, 9068, 8725). It is safe for concurrent use;
// call Close to stop its background key refresh.
type Verifier struct {
	rules        claimRules
	algs         algSet
	requireATJWT bool
	maxSize      int
	now          func() time.Time
	keys         *keyStore
	secretKey    *verificationKey // HS* only
	cache        *tokenCache
	revocation   RevocationChecker

	verified stat
	rejected stat
}

// NewVerifier validates the configuration and, for a JWKS URL, fetches the
// key set once, waiting for it as long as ctx allows. A failed first fetch is
// not an error (the identity provider may be starting too): it is logged and
// retried in the background, and tokens are refused with
// ErrIssuerUnavailable until keys arrive. ctx bounds only this first wait;
// background refreshes run until Close.
func NewVerifier(ctx context.Context, cfg Config, opts ...VerifierOption) (*Verifier, error) {
	c := verifierConfig{
		algs:            defaultAlgorithms,
		refetchInterval: defaultRefetchInterval,
		minRefresh:      defaultMinRefresh,
		maxRefresh:      defaultMaxRefresh,
	}
	c.setDefaults()
	c.cacheSize, c.cacheTTL = DefaultCacheSize, DefaultCacheTTL
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrConfig)
		}
		if err := o.applyVerifier(&c); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if err := validateVerifierConfig(&cfg, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}

	v := &Verifier{
		rules: claimRules{
			issuer:      cfg.Issuer,
			audiences:   cfg.audiences(),
			mapping:     cfg.Claims.withDefaults(),
			maxLifetime: c.maxLifetime,
			leeway:      c.leeway,
			lenient:     c.lenient,
			log:         c.logger,
			memo:        &scopeMemo{},
			clients:     c.clients,
		},
		algs:         c.algs,
		requireATJWT: c.requireATJWT,
		maxSize:      c.maxTokenSize,
		now:          c.clock,
		cache:        newTokenCache(c.cacheSize, c.cacheBytes, c.cacheTTL, c.leeway),
		revocation:   c.revocation,
	}
	if len(c.secret) > 0 {
		v.secretKey = &verificationKey{secret: c.secret, algs: c.algs & hmacAlgorithms}
	}
	switch {
	case cfg.JWKSURL != "":
		v.keys = newRemoteKeyStore(ctx, cfg.JWKSURL, &c)
		if v.cache != nil {
			cache, keep := v.cache, v.secretKey
			v.keys.onLoad = func(set *keySet) { cache.dropKeysNotIn(set, keep) }
		}
		v.keys.start(ctx)
	case cfg.Keys != nil:
		set, skipped := newKeySet(cfg.Keys, c.algs, nil)
		for _, k := range skipped {
			c.logger.Warn("token: configured key not usable, skipped", "kid", k.kid, "reason", k.reason)
		}
		if set.len() == 0 && c.algs&^hmacAlgorithms != 0 {
			return nil, fmt.Errorf("%w: Config.Keys holds no key usable with the allowed algorithms (%d skipped)", ErrConfig, len(skipped))
		}
		v.keys = newStaticKeyStore(set)
	default:
		v.keys = newStaticKeyStore(&keySet{})
	}
	return v, nil
}

// audiences is Audience followed by Audiences, without empty entries.
func (cfg *Config) audiences() []string {
	var list []string
	for _, a := range append([]string{cfg.Audience}, cfg.Audiences...) {
		if a != "" && !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

func validateVerifierConfig(cfg *Config, c *verifierConfig) error {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("Issuer is required"))
	}
	if len(cfg.audiences()) == 0 {
		errs = append(errs, errors.New("Audience is required"))
	}
	if slices.Contains(cfg.Audiences, "") {
		errs = append(errs, errors.New("Audiences has an empty entry"))
	}
	if m := cfg.Claims.withDefaults(); m.validate() != nil {
		errs = append(errs, fmt.Errorf("Claims: %w", m.validate()))
	}
	if c.algs == 0 {
		errs = append(errs, errors.New("no algorithms allowed"))
	}
	hs := c.algs & hmacAlgorithms
	switch {
	case hs != 0 && len(c.secret) == 0:
		errs = append(errs, fmt.Errorf("algorithms %s need WithSharedSecret", hs))
	case hs == 0 && len(c.secret) > 0:
		errs = append(errs, errors.New("WithSharedSecret given but no HS* algorithm allowed (see WithAlgorithms)"))
	case hs != 0:
		need := 32
		if hs.has(algHS384) {
			need = 48
		}
		if hs.has(algHS512) {
			need = 64
		}
		if len(c.secret) < need {
			errs = append(errs, fmt.Errorf("shared secret of %d bytes is shorter than the %d bytes %s needs", len(c.secret), need, hs))
		}
	}
	if cfg.JWKSURL != "" && cfg.Keys != nil {
		errs = append(errs, errors.New("set JWKSURL or Keys, not both"))
	}
	if cfg.JWKSURL == "" && cfg.Keys == nil && c.algs&^hmacAlgorithms != 0 {
		errs = append(errs, fmt.Errorf("no key source: set Config.JWKSURL or Config.Keys (allowed algorithms: %s)", c.algs))
	}
	if cfg.JWKSURL != "" {
		if _, err := parseEndpoint(cfg.JWKSURL, c.insecure); err != nil {
			errs = append(errs, fmt.Errorf("JWKSURL: %w", err))
		}
	}
	if c.maxKeySetAge != 0 && c.maxKeySetAge <= c.maxRefresh {
		errs = append(errs, fmt.Errorf("WithMaxKeySetAge: %v leaves no room for a refresh (upper refresh bound %v)", c.maxKeySetAge, c.maxRefresh))
	}
	if c.cacheSize > 0 && c.cacheTTL <= 0 {
		errs = append(errs, errors.New("token cache TTL must be positive"))
	}
	return errors.Join(errs...)
}

// Close stops the background key refresh and waits for it. Authenticate
// keeps working with the keys already loaded, until they are older than
// WithMaxKeySetAge, but never fetches again.
func (v *Verifier) Close() error {
	v.keys.close()
	return nil
}

// Authenticate verifies raw, a JWS compact serialization, and returns its
// Principal. The returned Principal may be shared with other callers that
// present the same token (verified-token cache): do not modify it. A
// sender-constrained token is refused (ErrSenderConstrained): see
// DPoPChecker.
func (v *Verifier) Authenticate(ctx context.Context, raw string) (*Principal, error) {
	return refuseBound(v.authenticate(ctx, raw))
}

// authenticate is Authenticate, sender-constrained tokens included.
func (v *Verifier) authenticate(ctx context.Context, raw string) (*Principal, error) {
	if err := checkLength(raw, v.maxSize); err != nil {
		v.rejected.add()
		return nil, err
	}
	now := v.now()
	if p := v.fromCache(raw, now); p != nil {
		return v.afterVerify(ctx, raw, p)
	}
	jws, err := splitCompact(raw)
	if err != nil {
		v.rejected.add()
		return nil, err
	}
	return v.authenticateSplit(ctx, raw, jws, now)
}

// checkLength refuses an empty token and one over limit bytes.
func checkLength(raw string, limit int) error {
	if raw == "" {
		return fail(ErrNotJWT, "empty token")
	}
	if len(raw) > limit {
		return fail(ErrMalformed, "token is %d bytes, the limit is %d", len(raw), limit)
	}
	return nil
}

// authenticateSplit is authenticate for a token not in the cache, already
// split as jws: Issuers splits a token once to find its Verifier.
func (v *Verifier) authenticateSplit(ctx context.Context, raw string, jws *compactJWS, now time.Time) (*Principal, error) {
	p, key, set, err := v.verify(ctx, jws, now)
	if err != nil {
		v.rejected.add()
		return nil, err
	}
	if v.cache != nil {
		p = v.cache.put(raw, p, key, set, now)
	}
	if p, err = v.afterVerify(ctx, raw, p); err == nil {
		v.verified.add()
	}
	return p, err
}

// fromCache returns the cached Principal of raw, or nil.
func (v *Verifier) fromCache(raw string, now time.Time) *Principal {
	if v.cache == nil {
		return nil
	}
	e := v.cache.get(raw, now)
	if e == nil {
		return nil
	}
	// The key must still be in the current set, and that set not too old
	// to use: at once when the set is the one it was verified from (sets
	// are immutable).
	if cur := v.keys.usable(now); e.key == v.secretKey || (e.set != nil && e.set == cur) || cur.contains(e.key) {
		return &e.principal
	}
	v.cache.remove(raw) // its key left the key set: verify afresh
	return nil
}

// afterVerify runs the checks made on every use of a verified token, cached
// or not: today, revocation.
func (v *Verifier) afterVerify(ctx context.Context, raw string, p *Principal) (*Principal, error) {
	if v.revocation == nil {
		return p, nil
	}
	if err := v.checkRevoked(ctx, raw, p); err != nil {
		v.rejected.add()
		return nil, err
	}
	return p, nil
}

// checkRevoked asks the RevocationChecker about a verified token. A
// checker that cannot answer fails the token closed (ErrIssuerUnavailable).
func (v *Verifier) checkRevoked(ctx context.Context, raw string, p *Principal) error {
	revoked, err := v.revocation.Revoked(ctx, raw, p)
	switch {
	case err != nil:
		return failWrap(ErrIssuerUnavailable, err, "revocation status unknown")
	case revoked:
		if v.cache != nil {
			v.cache.remove(raw)
		}
		return fail(ErrInactive, "token has been revoked")
	}
	return nil
}

// verify is the uncached path for a split token: check the header, select
// the key, check the signature, then the claims.
func (v *Verifier) verify(ctx context.Context, jws *compactJWS, now time.Time) (*Principal, *verificationKey, *keySet, error) {
	h := &jws.header
	alg := parseAlgorithm(h.alg)
	if !v.algs.has(alg) {
		return nil, nil, nil, fail(ErrAlgorithm, "alg %s is not allowed (allowed: %s)", quoteShort(h.alg), v.algs)
	}
	if h.crit {
		return nil, nil, nil, fail(ErrMalformed, `header has "crit": no JWS extensions are supported`)
	}
	if v.requireATJWT && !isATJWT(h.typ) {
		return nil, nil, nil, fail(ErrMalformed, `header "typ" is %s, want "at+jwt"`, quoteShort(h.typ))
	}
	if namesOtherJWT(h.typ) {
		return nil, nil, nil, fail(ErrMalformed, `header "typ" %s names another kind of JWT than an access token`, quoteShort(h.typ))
	}

	key, set, err := v.selectAndVerify(ctx, jws, alg, now)
	if err != nil {
		return nil, nil, nil, err
	}

	claims, err := jws.decodeClaims()
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := v.rules.principal(claims, jws.payloadB64, now)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, key, set, nil
}

// selectAndVerify finds the key for the token's kid and alg (refetching the
// JWKS once, rate-limited, for an unknown kid) and checks the signature.
func (v *Verifier) selectAndVerify(ctx context.Context, jws *compactJWS, alg algorithm, now time.Time) (*verificationKey, *keySet, error) {
	if alg.isHMAC() {
		if verifySignature(alg, v.secretKey, jws.signingInput, jws.signature) {
			return v.secretKey, nil, nil
		}
		return nil, nil, fail(ErrSignature, "%s signature does not verify with the shared secret", alg)
	}
	h := &jws.header
	set := v.keys.usable(now)
	cands := set.candidates(h.kid, h.hasKid)
	if len(cands) == 0 {
		var err error
		set, err = v.keys.refetchUnknown(ctx)
		if set == nil {
			return nil, nil, failWrap(ErrIssuerUnavailable, err, "no usable key set from the issuer: none was loaded, or the last one is too old (WithMaxKeySetAge)")
		}
		if cands = set.candidates(h.kid, h.hasKid); len(cands) == 0 {
			if h.hasKid {
				return nil, nil, fail(ErrUnknownKey, "no key with the token's kid in the issuer's key set")
			}
			return nil, nil, fail(ErrUnknownKey, "token has no kid and the key set is empty")
		}
	}
	var usable [4]*verificationKey
	n := 0
	for _, k := range cands {
		if k.algs.has(alg) {
			if n == len(usable) {
				break
			}
			usable[n] = k
			n++
		}
	}
	switch {
	case n == 0:
		return nil, nil, fail(ErrAlgorithm, "alg %s does not fit the selected key's type or declared alg", alg)
	case n > 1 && !h.hasKid:
		// Trying every key would let one request cost many signature checks.
		return nil, nil, fail(ErrUnknownKey, "token has no kid and %d keys fit alg %s", n, alg)
	}
	for _, k := range usable[:n] {
		if verifySignature(alg, k, jws.signingInput, jws.signature) {
			return k, set, nil
		}
	}
	return nil, nil, fail(ErrSignature, "%s signature does not verify", alg)
}

func isATJWT(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// namesOtherJWT reports whether typ explicitly types the token as a JWT of
// another kind than an access token ("logout+jwt", "secevent+jwt",
// "token-introspection+jwt", "dpop+jwt", ...: RFC 8725 3.11). An issuer
// may sign those with the keys of its access tokens and address them to
// this server; with its typ, such a JWT says it is not meant as one.
func namesOtherJWT(typ string) bool {
	const prefix, suffix = "application/", "+jwt"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return len(typ) > len(suffix) && strings.EqualFold(typ[len(typ)-len(suffix):], suffix) && !strings.EqualFold(typ, "at+jwt")
}

// quoteShort quotes a header value for an error message, truncated so that
// a hostile header cannot flood logs.
func quoteShort(s string) string {
	const limit = 24
	if len(s) > limit {
		return fmt.Sprintf("%q...", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
