package token

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults a caller may build on (WithLeeway, WithMaxTokenSize,
// WithTokenCache).
const (
	DefaultLeeway       = 60 * time.Second
	DefaultMaxTokenSize = 16 << 10
	DefaultCacheSize    = 250_000 // a count bound; DefaultCacheBytes is reached first
	DefaultCacheTTL     = 5 * time.Minute
)

// Defaults of the key-set refresh and of the HTTP client, each overridable
// by an option.
const (
	defaultRefetchInterval = 10 * time.Second
	defaultMinRefresh      = 5 * time.Minute
	defaultMaxRefresh      = 24 * time.Hour
	defaultHTTPTimeout     = 10 * time.Second
)

// httpConfig is what every option set shares: how to talk HTTP.
type httpConfig struct {
	client   *http.Client
	insecure bool // allow plain http:// to non-loopback hosts
}

// commonConfig is what Verifier and Introspector share.
type commonConfig struct {
	httpConfig
	leeway       time.Duration
	lenient      bool
	logger       *slog.Logger
	clock        func() time.Time
	maxTokenSize int
	cacheSize    int
	cacheBytes   int64 // 0: DefaultCacheBytes
	cacheTTL     time.Duration
	cacheSet     bool
	clients      map[string]struct{} // WithAllowedClients; nil: any client
}

func (c *commonConfig) setDefaults() {
	c.leeway = DefaultLeeway
	c.maxTokenSize = DefaultMaxTokenSize
	c.clock = time.Now
	c.logger = slog.Default()
}

func (c *httpConfig) httpClient() *http.Client {
	if c.client != nil {
		return c.client
	}
	return newHTTPClient(c.insecure)
}

// verifierConfig is everything NewVerifier needs.
type verifierConfig struct {
	commonConfig
	algs            algSet
	algsSet         bool
	secret          []byte
	requireATJWT    bool
	maxLifetime     time.Duration
	revocation      RevocationChecker
	refetchInterval time.Duration
	minRefresh      time.Duration
	maxRefresh      time.Duration
	maxKeySetAge    time.Duration // 0: twice maxRefresh
}

// introspectorConfig is everything NewIntrospector needs.
type introspectorConfig struct {
	commonConfig
	withoutAudience bool // WithAnswersWithoutAudience
}

// VerifierOption configures a Verifier.
type VerifierOption interface {
	applyVerifier(*verifierConfig) error
}

// IntrospectorOption configures an Introspector.
type IntrospectorOption interface {
	applyIntrospector(*introspectorConfig) error
}

// DiscoveryOption configures DiscoverOpenID and DiscoverSMART.
type DiscoveryOption interface {
	applyDiscovery(*httpConfig) error
}

// CommonOption configures both a Verifier and an Introspector.
type CommonOption interface {
	VerifierOption
	IntrospectorOption
}

// HTTPOption configures a Verifier, an Introspector and discovery.
type HTTPOption interface {
	CommonOption
	DiscoveryOption
}

type verifierOption func(*verifierConfig) error

func (f verifierOption) applyVerifier(c *verifierConfig) error { return f(c) }

type introspectorOption func(*introspectorConfig) error

func (f introspectorOption) applyIntrospector(c *introspectorConfig) error { return f(c) }

type commonOption func(*commonConfig) error

func (f commonOption) applyVerifier(c *verifierConfig) error { return f(&c.commonConfig) }
func (f commonOption) applyIntrospector(c *introspectorConfig) error {
	return f(&c.commonConfig)
}

type httpOption func(*httpConfig) error

func (f httpOption) applyVerifier(c *verifierConfig) error { return f(&c.httpConfig) }
func (f httpOption) applyIntrospector(c *introspectorConfig) error {
	return f(&c.httpConfig)
}
func (f httpOption) applyDiscovery(c *httpConfig) error { return f(c) }

// WithAlgorithms replaces the algorithm allow-list (default RS256, RS384,
// PS256, PS384, PS512, ES256, ES384). Names are JWA names, case-sensitive: RS256 RS384 RS512
// PS256 PS384 PS512 ES256 ES384 ES512 EdDSA HS256 HS384 HS512. "none" is
// never accepted. HS* algorithms additionally need WithSharedSecret.
func WithAlgorithms(names ...string) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if len(names) == 0 {
			return errors.New("WithAlgorithms: empty algorithm list")
		}
		var s algSet
		for _, n := range names {
			a := parseAlgorithm(n)
			if a == algInvalid {
				return fmt.Errorf("WithAlgorithms: unknown or forbidden algorithm %q", n)
			}
			s = s.with(a)
		}
		c.algs, c.algsSet = s, true
		return nil
	})
}

// WithSharedSecret is the HMAC key for HS256/HS384/HS512 tokens. It is the
// only key ever used for HS* algorithms (never a key from the JWKS), and it
// must be at least as long as the largest allowed HS* hash output (32, 48 or
// 64 bytes, RFC 7518 3.2). HS* algorithms must be listed in WithAlgorithms.
func WithSharedSecret(secret []byte) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if len(secret) == 0 {
			return errors.New("WithSharedSecret: empty secret")
		}
		c.secret = append([]byte(nil), secret...)
		return nil
	})
}

// WithRequireATJWT requires the "typ" header "at+jwt" (or
// "application/at+jwt") of RFC 9068 access tokens, which keeps ID tokens and
// other JWTs from the same issuer from being used as access tokens.
func WithRequireATJWT() VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		c.requireATJWT = true
		return nil
	})
}

// WithMaxTokenLifetime refuses tokens valid for longer than d: exp - iat,
// or, for a token without iat, exp - now. Without it a token valid for ten
// years is accepted. Set it to the issuer's token lifetime plus the clock
// leeway; the error wraps ErrMalformed.
func WithMaxTokenLifetime(d time.Duration) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if d < time.Second {
			return fmt.Errorf("WithMaxTokenLifetime: %v is below 1s", d)
		}
		c.maxLifetime = d
		return nil
	})
}

// WithAnswersWithoutAudience makes an Introspector accept answers without
// "aud", which RFC 7662 makes optional. By default such an answer is
// refused (ErrAudience): an authorization server that serves several
// resource servers answers "active" for a token meant for any of them,
// and without "aud" this one cannot tell a token meant for another,
// which would then be accepted here with that token's scopes. Give it
// only for an authorization server whose tokens are all meant for this
// resource server. An answer that has "aud" must still contain
// IntrospectorConfig.Audience, and one that has "iss" must still name
// IntrospectorConfig.Issuer.
func WithAnswersWithoutAudience() IntrospectorOption {
	return introspectorOption(func(c *introspectorConfig) error {
		c.withoutAudience = true
		return nil
	})
}

// WithRefetchInterval sets how often at most an unknown kid may trigger a
// refetch of the JWKS (default 10 s; at least 1 s).
func WithRefetchInterval(d time.Duration) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if d < time.Second {
			return fmt.Errorf("WithRefetchInterval: %v is below 1s", d)
		}
		c.refetchInterval = d
		return nil
	})
}

// WithRefreshBounds bounds the background refresh interval of the JWKS. The
// interval follows the response's Cache-Control max-age, clamped to
// [min, max] (defaults 5 min and 24 h); without max-age it is 1 h, clamped.
func WithRefreshBounds(min, max time.Duration) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if min < time.Second || max < min {
			return fmt.Errorf("WithRefreshBounds: need 1s <= min <= max, got %v, %v", min, max)
		}
		c.minRefresh, c.maxRefresh = min, max
		return nil
	})
}

// WithMaxKeySetAge bounds how long a fetched key set is used after it was
// fetched, while every refresh since has failed (default twice the upper
// refresh bound: 48 h). Past it, tokens are refused with
// ErrIssuerUnavailable until a fetch succeeds: an identity provider
// withdraws a leaked key by removing it from its JWKS, and whoever can keep
// the verifier from reaching the JWKS must not keep that key trusted. d
// must exceed the upper refresh bound (WithRefreshBounds).
func WithMaxKeySetAge(d time.Duration) VerifierOption {
	return verifierOption(func(c *verifierConfig) error {
		if d <= 0 {
			return fmt.Errorf("WithMaxKeySetAge: %v is not positive", d)
		}
		c.maxKeySetAge = d
		return nil
	})
}

// WithLeeway sets the clock skew tolerated for exp, nbf and iat (default 60 s, at most 5 min).
func WithLeeway(d time.Duration) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("WithLeeway: %v is outside [0, 5m]", d)
		}
		c.leeway = d
		return nil
	})
}

// WithLenientScopes keeps the valid scopes of a scope claim that also
// contains invalid ones (logged) instead of rejecting the token with
// ErrScope. The default, strict mode, fails closed.
func WithLenientScopes() CommonOption {
	return commonOption(func(c *commonConfig) error {
		c.lenient = true
		return nil
	})
}

// WithMaxTokenSize sets the largest raw token accepted, checked before any
// decoding (default 16 KiB).
func WithMaxTokenSize(n int) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if n < 64 || n > 1<<20 {
			return fmt.Errorf("WithMaxTokenSize: %d is outside [64, 1 MiB]", n)
		}
		c.maxTokenSize = n
		return nil
	})
}

// WithTokenCache sizes the cache of successful answers: at most size tokens
// (and at most WithTokenCacheBytes of memory; the less frequently used are
// evicted), each for at most ttl and never past its exp. size 0 disables
// the cache. Verifier default: DefaultCacheSize tokens in DefaultCacheBytes,
// 5 min.
// Introspector default: disabled (a cached answer hides revocation for up
// to ttl; keep it short).
func WithTokenCache(size int, ttl time.Duration) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if size < 0 || size > 10_000_000 {
			return fmt.Errorf("WithTokenCache: size %d is outside [0, 10000000]", size)
		}
		if size > 0 && (ttl <= 0 || ttl > 24*time.Hour) {
			return fmt.Errorf("WithTokenCache: ttl %v is outside (0, 24h]", ttl)
		}
		c.cacheSize, c.cacheTTL, c.cacheSet = size, ttl, true
		return nil
	})
}

// WithAllowedClients accepts only tokens of the given clients: the
// Principal's ClientID (the first present of the claim mapping's
// ClientIDClaims; SMART: client_id, then azp) must be exactly one of ids,
// byte for byte (no case folding, no Unicode normalization, no trimming).
// A token that names no client, an empty one, or one not on the list is
// refused with ErrClient, before its Principal is cached or returned.
// Give each issuer's Verifier its own list. At least one id; none empty.
func WithAllowedClients(ids ...string) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if len(ids) == 0 {
			return errors.New("WithAllowedClients: no client ids")
		}
		set := make(map[string]struct{}, len(ids))
		for _, id := range ids {
			if id == "" {
				return errors.New("WithAllowedClients: empty client id")
			}
			set[id] = struct{}{}
		}
		c.clients = set
		return nil
	})
}

// WithLogger sets the logger for key-set refreshes, fetch failures and
// skipped keys (default slog.Default()). Tokens are never logged.
func WithLogger(l *slog.Logger) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.logger = l
		return nil
	})
}

// WithClock replaces time.Now for exp/nbf/iat checks, cache expiry and the
// refetch rate limit (tests).
func WithClock(now func() time.Time) CommonOption {
	return commonOption(func(c *commonConfig) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		c.clock = now
		return nil
	})
}

// WithHTTPClient sets the HTTP client for JWKS, discovery and introspection
// requests. The default has a 10 s timeout and follows redirects only on
// the origin of the URL asked (same scheme, host and port: never to
// another server, never from https to http); discovery reports a refused
// redirect as ErrDiscovery. The client given here keeps its own redirect
// policy (its CheckRedirect, or net/http's default of following any
// redirect): restrict it yourself. A client without Timeout is given none:
// bound it yourself.
func WithHTTPClient(client *http.Client) HTTPOption {
	return httpOption(func(c *httpConfig) error {
		if client == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		c.client = client
		return nil
	})
}

// WithInsecureHTTP allows plain http:// URLs to hosts other than loopback
// (127.0.0.1, ::1, localhost), which are always allowed. For development
// only: keys and introspection answers fetched over plain HTTP can be forged
// by anyone on the path.
func WithInsecureHTTP() HTTPOption {
	return httpOption(func(c *httpConfig) error {
		c.insecure = true
		return nil
	})
}
