package token_test

import (
	"context"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

const dpopURL = "https://fhir.example.org/fhir/Patient/1"

// dpopWorld is an issuer, a caching verifier and a DPoP checker on one clock,
// with a token bound to signer's key.
type dpopWorld struct {
	v       *token.Verifier
	c       *token.DPoPChecker
	clk     *testClock
	signer  *proofSigner
	bound   string // token bound to signer's key
	plain   string // unbound token
	mint    func(claims map[string]any) string
	replays *token.MemoryReplayCache
}

func newDPoPWorld(t *testing.T, cfg token.DPoPConfig) *dpopWorld {
	t.Helper()
	iss, clk := newIssuer(t)
	w := &dpopWorld{v: newVerifier(t, iss, clk), clk: clk, signer: newProofSigner(t, "ES256"), mint: iss.Mint}
	w.bound = iss.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": w.signer.thumbprint(t)}})
	w.plain = iss.Mint(map[string]any{"scope": "user/Patient.rs"})
	cfg.Clock = clk.Now
	if cfg.Replay == nil {
		w.replays = token.NewMemoryReplayCache(1000)
		cfg.Replay = w.replays
	}
	c, err := token.NewDPoPChecker(cfg)
	require.NoError(t, err)
	w.c = c
	return w
}

func (w *dpopWorld) authenticate(raw, proof, method, url string) (*token.Principal, error) {
	return w.c.Authenticate(context.Background(), w.v, raw, proof, token.ProofRequest{Method: method, URL: url})
}

func TestDPoPAcceptsEveryAllowedAlgorithm(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	for _, alg := range token.DefaultDPoPAlgorithms {
		t.Run(alg, func(t *testing.T) {
			s := newProofSigner(t, alg)
			raw := w.mint(map[string]any{"cnf": map[string]any{"jkt": s.thumbprint(t)}})
			p, err := w.authenticate(raw, s.proof(t, "GET", dpopURL, raw, w.clk.Now()), "GET", dpopURL)
			require.NoError(t, err)
			require.Equal(t, s.thumbprint(t), p.Confirmation.JKT)
		})
	}
}

func TestDPoPBoundTokenAsBearerIsRefused(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	_, err := w.v.Authenticate(context.Background(), w.bound)
	require.ErrorIs(t, err, token.ErrSenderConstrained)
	require.ErrorIs(t, err, token.ErrMalformed)
	// Once cached by a DPoP request, still refused as bearer.
	_, err = w.authenticate(w.bound, w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now()), "GET", dpopURL)
	require.NoError(t, err)
	_, err = w.v.Authenticate(context.Background(), w.bound)
	require.ErrorIs(t, err, token.ErrSenderConstrained)
}

func TestDPoPPlainTokenRefusedUnlessAllowed(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	_, err := w.authenticate(w.plain, w.signer.proof(t, "GET", dpopURL, w.plain, w.clk.Now()), "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrSenderConstrained)

	w = newDPoPWorld(t, token.DPoPConfig{AllowUnbound: true})
	p, err := w.authenticate(w.plain, w.signer.proof(t, "GET", dpopURL, w.plain, w.clk.Now()), "GET", dpopURL)
	require.NoError(t, err)
	require.False(t, p.Confirmation.Bound())
}

// TestDPoPCachedTokenStillNeedsProof: the verified-token cache answers for
// the token, never for the proof.
func TestDPoPCachedTokenStillNeedsProof(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	good := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	_, err := w.authenticate(w.bound, good, "GET", dpopURL)
	require.NoError(t, err)

	other := newProofSigner(t, "ES256")
	for name, proof := range map[string]string{
		"no proof":        "",
		"replayed proof":  good,
		"another key":     other.proof(t, "GET", dpopURL, w.bound, w.clk.Now()),
		"another method":  w.signer.proof(t, "DELETE", dpopURL, w.bound, w.clk.Now()),
		"another URL":     w.signer.proof(t, "GET", dpopURL+"/_history", w.bound, w.clk.Now()),
		"ath of no token": w.signer.proof(t, "GET", dpopURL, "", w.clk.Now()),
	} {
		_, err := w.authenticate(w.bound, proof, "GET", dpopURL)
		require.ErrorIs(t, err, token.ErrDPoPProof, name)
	}
	_, err = w.authenticate(w.bound, w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now()), "GET", dpopURL)
	require.NoError(t, err)
	st := w.v.Stats()
	require.Equal(t, uint64(1), st.CacheMisses, "the token was verified once")
	require.NotZero(t, st.CacheHits, "and then came from the cache")
}

func TestDPoPIntrospectedBinding(t *testing.T) {
	iss, clk := newIssuer(t, tokentest.WithClient("rs", "rs-secret", "openid"))
	s := newProofSigner(t, "ES256")
	in := newIntrospector(t, iss, clk, nil)
	opaque := iss.MintOpaque(map[string]any{"cnf": map[string]any{"jkt": s.thumbprint(t)}, "token_type": "DPoP"})
	_, err := in.Authenticate(context.Background(), opaque)
	require.ErrorIs(t, err, token.ErrSenderConstrained)
	c, err := token.NewDPoPChecker(token.DPoPConfig{Clock: clk.Now})
	require.NoError(t, err)
	req := token.ProofRequest{Method: "GET", URL: dpopURL}
	p, err := c.Authenticate(context.Background(), in, opaque, s.proof(t, "GET", dpopURL, opaque, clk.Now()), req)
	require.NoError(t, err)
	require.Equal(t, s.thumbprint(t), p.Confirmation.JKT)
	other := newProofSigner(t, "ES256")
	_, err = c.Authenticate(context.Background(), in, opaque, other.proof(t, "GET", dpopURL, opaque, clk.Now()), req)
	require.ErrorIs(t, err, token.ErrDPoPProof)

	// An answer from the token cache binds the token as the answer from
	// the endpoint did.
	cached := newIntrospector(t, iss, clk, nil, token.WithTokenCache(10, time.Minute))
	_, err = c.Authenticate(context.Background(), cached, opaque, s.proof(t, "GET", dpopURL, opaque, clk.Now()), req)
	require.NoError(t, err)
	asked := len(iss.IntrospectionRequests())
	_, err = c.Authenticate(context.Background(), cached, opaque, other.proof(t, "GET", dpopURL, opaque, clk.Now()), req)
	require.ErrorIs(t, err, token.ErrDPoPProof)
	_, err = cached.Authenticate(context.Background(), opaque)
	require.ErrorIs(t, err, token.ErrSenderConstrained)
	_, err = c.Authenticate(context.Background(), cached, opaque, s.proof(t, "GET", dpopURL, opaque, clk.Now()), req)
	require.NoError(t, err)
	require.Len(t, iss.IntrospectionRequests(), asked, "answered from the cache")
}

func TestDPoPNonce(t *testing.T) {
	ns, err := token.NewNonceSource([]byte(strings.Repeat("k", 32)), time.Minute)
	require.NoError(t, err)
	w := newDPoPWorld(t, token.DPoPConfig{Nonces: ns})
	claims := proofClaims("GET", dpopURL, w.bound, w.clk.Now())
	_, err = w.authenticate(w.bound, w.signer.signMaps(t, w.signer.header(), claims), "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrDPoPNonce)

	nonce := w.c.Nonce()
	require.NotEmpty(t, nonce)
	claims = proofClaims("GET", dpopURL, w.bound, w.clk.Now())
	claims["nonce"] = nonce
	_, err = w.authenticate(w.bound, w.signer.signMaps(t, w.signer.header(), claims), "GET", dpopURL)
	require.NoError(t, err)

	other, err := token.NewNonceSource([]byte(strings.Repeat("o", 32)), time.Minute)
	require.NoError(t, err)
	claims = proofClaims("GET", dpopURL, w.bound, w.clk.Now())
	claims["nonce"] = other.Nonce(w.clk.Now()) // a server with another secret
	_, err = w.authenticate(w.bound, w.signer.signMaps(t, w.signer.header(), claims), "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrDPoPNonce)

	w.clk.Advance(time.Minute) // previous period: still accepted
	claims = proofClaims("GET", dpopURL, w.bound, w.clk.Now())
	claims["nonce"] = nonce
	_, err = w.authenticate(w.bound, w.signer.signMaps(t, w.signer.header(), claims), "GET", dpopURL)
	require.NoError(t, err)

	w.clk.Advance(time.Minute) // two periods on: stale
	claims = proofClaims("GET", dpopURL, w.bound, w.clk.Now())
	claims["nonce"] = nonce
	_, err = w.authenticate(w.bound, w.signer.signMaps(t, w.signer.header(), claims), "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrDPoPNonce)
}

func TestDPoPCheckAtTokenEndpoint(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	const tokenURL = "https://idp.example/oauth2/token"
	proof := w.signer.proof(t, "POST", tokenURL, "", w.clk.Now())
	p, err := w.c.Check(context.Background(), proof, token.ProofRequest{Method: "POST", URL: tokenURL})
	require.NoError(t, err)
	require.Equal(t, w.signer.thumbprint(t), p.JKT)
	_, err = w.c.Check(context.Background(), proof, token.ProofRequest{Method: "POST", URL: tokenURL})
	require.ErrorIs(t, err, token.ErrDPoPProof, "replay")
	// A proof hashing a token was made to present that token, not to
	// obtain one.
	_, err = w.c.Check(context.Background(), w.signer.proof(t, "POST", tokenURL, w.bound, w.clk.Now()), token.ProofRequest{Method: "POST", URL: tokenURL})
	require.ErrorIs(t, err, token.ErrDPoPProof)
	require.Contains(t, err.Error(), "ath")
}

func TestDPoPConfigRefusesSymmetricAlgorithms(t *testing.T) {
	for _, alg := range []string{"HS256", "none", "", "es256"} {
		_, err := token.NewDPoPChecker(token.DPoPConfig{Algorithms: []string{alg}})
		require.ErrorIs(t, err, token.ErrConfig, alg)
	}
}

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	c := token.NewMemoryReplayCache(2)
	now := time.Now()
	seen, err := c.Seen(ctx, "a", now.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, seen)
	seen, err = c.Seen(ctx, "a", now.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, seen)
	_, err = c.Seen(ctx, "b", now.Add(-time.Second)) // already expired: recorded, then dropped
	require.NoError(t, err)
	_, err = c.Seen(ctx, "c", now.Add(time.Hour))
	require.NoError(t, err, "b expired and made room")
	_, err = c.Seen(ctx, "d", now.Add(time.Hour))
	require.Error(t, err, "full of live proofs: refuse rather than forget one")
	require.Equal(t, 2, c.Len())
}

func TestMemoryReplayCacheConcurrentOneWinner(t *testing.T) {
	c := token.NewMemoryReplayCache(100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen, err := c.Seen(context.Background(), "same", time.Now().Add(time.Minute))
			if err == nil && !seen {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, fresh)
}

// hostileProof is one case of the hostile-proof table: a proof (built from
// the world) and the request it is presented with.
type hostileProof struct {
	name   string
	proof  func(t *testing.T, w *dpopWorld) string
	method string // default GET
	url    string // default dpopURL
	want   error  // nil: accepted
}

// mutate builds a proof from a valid header and claims, changed by f.
func mutate(f func(h, c map[string]any)) func(t *testing.T, w *dpopWorld) string {
	return func(t *testing.T, w *dpopWorld) string {
		h, c := w.signer.header(), proofClaims("GET", dpopURL, w.bound, w.clk.Now())
		jwk := map[string]any{}
		for k, v := range w.signer.jwk {
			jwk[k] = v
		}
		h["jwk"] = jwk
		f(h, c)
		return w.signer.signMaps(t, h, c)
	}
}

// raw builds a proof from header and claims JSON text signed as given.
func rawProof(header, claims func(w *dpopWorld) string) func(t *testing.T, w *dpopWorld) string {
	return func(t *testing.T, w *dpopWorld) string {
		return w.signer.signRaw(t, []byte(header(w)), []byte(claims(w)))
	}
}

func validHeaderJSON(w *dpopWorld) string {
	js, _ := json.Marshal(w.signer.header())
	return string(js)
}

func validClaimsJSON(w *dpopWorld) string {
	js, _ := json.Marshal(proofClaims("GET", dpopURL, w.bound, w.clk.Now()))
	return string(js)
}

func hostileProofs() []hostileProof {
	del := func(name string) func(h, c map[string]any) {
		return func(h, c map[string]any) { delete(c, name) }
	}
	set := func(name string, v any) func(h, c map[string]any) {
		return func(h, c map[string]any) { c[name] = v }
	}
	setH := func(name string, v any) func(h, c map[string]any) {
		return func(h, c map[string]any) { h[name] = v }
	}
	setJWK := func(name string, v any) func(h, c map[string]any) {
		return func(h, c map[string]any) { h["jwk"].(map[string]any)[name] = v }
	}
	fixed := func(s string) func(t *testing.T, w *dpopWorld) string {
		return func(*testing.T, *dpopWorld) string { return s }
	}
	p := token.ErrDPoPProof
	return []hostileProof{
		// Accepted: RFC 3986 normalization of htu.
		{name: "htu upper-case scheme and host", proof: mutate(set("htu", "HTTPS://FHIR.Example.ORG/fhir/Patient/1"))},
		{name: "htu explicit default port", proof: mutate(set("htu", "https://fhir.example.org:443/fhir/Patient/1"))},
		{name: "htu unreserved char percent-encoded", proof: mutate(set("htu", "https://fhir.example.org/fhir/%50atient/1"))},

		// Syntax.
		{name: "empty proof", proof: fixed(""), want: p},
		{name: "two parts", proof: fixed("eyJ0eXAiOiJkcG9wK2p3dCJ9.e30"), want: p},
		{name: "four parts", proof: func(t *testing.T, w *dpopWorld) string { return mutate(func(h, c map[string]any) {})(t, w) + ".x" }, want: p},
		{name: "header not base64url", proof: fixed("!!.e30.AAAA"), want: p},
		{name: "header not JSON", proof: rawProof(func(*dpopWorld) string { return "dpop" }, validClaimsJSON), want: p},
		{name: "claims a JSON array", proof: rawProof(validHeaderJSON, func(*dpopWorld) string { return "[1]" }), want: p},
		{name: "duplicate alg in header", proof: rawProof(func(w *dpopWorld) string {
			return strings.Replace(validHeaderJSON(w), `"alg":"ES256"`, `"alg":"HS256","alg":"ES256"`, 1)
		}, validClaimsJSON), want: p},
		{name: "duplicate htu claim", proof: rawProof(validHeaderJSON, func(w *dpopWorld) string {
			return strings.Replace(validClaimsJSON(w), `"htm"`, `"htu":"https://evil.example/","htm"`, 1)
		}), want: p},
		{name: "case-variant htu claim", proof: rawProof(validHeaderJSON, func(w *dpopWorld) string {
			return strings.Replace(validClaimsJSON(w), `"htm"`, `"HTU":"https://evil.example/","htm"`, 1)
		}), want: p},
		{name: "case-variant typ in header", proof: rawProof(func(w *dpopWorld) string {
			return strings.Replace(validHeaderJSON(w), `"typ"`, `"Typ":"JWT","typ"`, 1)
		}, validClaimsJSON), want: p},
		{name: "case-variant kty in jwk", proof: rawProof(func(w *dpopWorld) string {
			return strings.Replace(validHeaderJSON(w), `"kty"`, `"KTY":"oct","kty"`, 1)
		}, validClaimsJSON), want: p},
		{name: "header base64url padded", proof: func(t *testing.T, w *dpopWorld) string {
			h, rest, _ := strings.Cut(mutate(func(h, c map[string]any) {})(t, w), ".")
			return h + strings.Repeat("=", (4-len(h)%4)%4+4) + "." + rest // "=" also where none is due
		}, want: p},
		{name: "signature with its trailing bits set", proof: func(t *testing.T, w *dpopWorld) string {
			s := mutate(func(h, c map[string]any) {})(t, w) // ES256: 64 bytes, 86 characters, 4 bits spare
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, s[len(s)-1])
			return s[:len(s)-1] + string(alphabet[last|1])
		}, want: p},
		{name: "line break in proof", proof: func(t *testing.T, w *dpopWorld) string {
			s := mutate(func(h, c map[string]any) {})(t, w)
			return s[:10] + "\n" + s[10:]
		}, want: p},
		{name: "proof over the size limit", proof: mutate(set("pad", strings.Repeat("x", 8<<10))), want: p}, // the default limit is 8 KiB

		// Header.
		{name: "typ missing", proof: mutate(func(h, c map[string]any) { delete(h, "typ") }), want: p},
		{name: "typ jwt", proof: mutate(setH("typ", "JWT")), want: p},
		{name: "typ number", proof: mutate(setH("typ", 1)), want: p},
		{name: "crit header", proof: mutate(setH("crit", []string{"exp"})), want: p},
		{name: "alg none unsigned", proof: func(t *testing.T, w *dpopWorld) string {
			h := w.signer.header()
			h["alg"] = "none"
			hj, _ := json.Marshal(h)
			return b64u.EncodeToString(hj) + "." + b64u.EncodeToString([]byte(validClaimsJSON(w))) + "."
		}, want: p},
		{name: "alg none with a signature", proof: mutate(setH("alg", "none")), want: p},
		{name: "alg HS256 keyed with the jwk", proof: func(t *testing.T, w *dpopWorld) string {
			h := w.signer.header()
			h["alg"] = "HS256"
			hj, _ := json.Marshal(h)
			input := b64u.EncodeToString(hj) + "." + b64u.EncodeToString([]byte(validClaimsJSON(w)))
			mac := hmac.New(sha256.New, []byte(w.signer.jwk["x"].(string)))
			mac.Write([]byte(input))
			return input + "." + b64u.EncodeToString(mac.Sum(nil))
		}, want: p},
		{name: "alg not on the allow-list", proof: mutate(setH("alg", "RS512")), want: p},
		{name: "alg lower case", proof: mutate(setH("alg", "es256")), want: p},
		{name: "alg of another key type", proof: mutate(setH("alg", "ES384")), want: p},
		{name: "jwk missing", proof: mutate(func(h, c map[string]any) { delete(h, "jwk") }), want: p},
		{name: "jwk a string", proof: mutate(setH("jwk", "ES256")), want: p},
		{name: "jwk with private key (d)", proof: mutate(setJWK("d", b64u.EncodeToString(make([]byte, 32)))), want: p},
		{name: "jwk symmetric (oct)", proof: mutate(setH("jwk", map[string]any{"kty": "oct", "k": "c2VjcmV0"})), want: p},
		{name: "jwk point off the curve", proof: mutate(setJWK("y", b64u.EncodeToString(make([]byte, 32)))), want: p},
		{name: "jwk coordinate short", proof: mutate(setJWK("x", b64u.EncodeToString(make([]byte, 31)))), want: p},
		{name: "jwk curve unknown", proof: mutate(setJWK("crv", "secp256k1")), want: p},
		{name: "jwk of another key", proof: func(t *testing.T, w *dpopWorld) string {
			other := newProofSigner(t, "ES256")
			h := w.signer.header()
			h["jwk"] = other.jwk
			return w.signer.signMaps(t, h, proofClaims("GET", dpopURL, w.bound, w.clk.Now()))
		}, want: p},
		{name: "signature by another key with its own jwk", proof: func(t *testing.T, w *dpopWorld) string {
			return newProofSigner(t, "ES256").proof(t, "GET", dpopURL, w.bound, w.clk.Now())
		}, want: p},
		{name: "signature altered", proof: func(t *testing.T, w *dpopWorld) string {
			s := []byte(mutate(func(h, c map[string]any) {})(t, w))
			s[len(s)-5] ^= 1
			return string(s)
		}, want: p},
		{name: "signature not base64url", proof: func(t *testing.T, w *dpopWorld) string {
			s := mutate(func(h, c map[string]any) {})(t, w)
			return s[:strings.LastIndexByte(s, '.')+1] + "***"
		}, want: p},

		// Claims: missing, wrong type, wrong value.
		{name: "jti missing", proof: mutate(del("jti")), want: p},
		{name: "jti number", proof: mutate(set("jti", 7)), want: p},
		{name: "jti empty", proof: mutate(set("jti", "")), want: p},
		{name: "jti too long", proof: mutate(set("jti", strings.Repeat("j", 257))), want: p},
		{name: "htm missing", proof: mutate(del("htm")), want: p},
		{name: "htm array", proof: mutate(set("htm", []string{"GET"})), want: p},
		{name: "htm of another method", proof: mutate(set("htm", "POST")), want: p},
		{name: "htm lower case", proof: mutate(set("htm", "get")), want: p},
		{name: "htu missing", proof: mutate(del("htu")), want: p},
		{name: "htu number", proof: mutate(set("htu", 443)), want: p},
		{name: "htu with query", proof: mutate(set("htu", dpopURL+"?_id=1")), want: p},
		{name: "htu with fragment", proof: mutate(set("htu", dpopURL+"#x")), want: p},
		{name: "htu other port", proof: mutate(set("htu", "https://fhir.example.org:8443/fhir/Patient/1")), want: p},
		{name: "htu other host", proof: mutate(set("htu", "https://evil.example/fhir/Patient/1")), want: p},
		{name: "htu http for https", proof: mutate(set("htu", "http://fhir.example.org/fhir/Patient/1")), want: p},
		{name: "htu other path", proof: mutate(set("htu", "https://fhir.example.org/fhir/Patient/2")), want: p},
		{name: "htu path case", proof: mutate(set("htu", "https://fhir.example.org/fhir/patient/1")), want: p},
		{name: "htu encoded slash", proof: mutate(set("htu", "https://fhir.example.org/fhir/Patient%2F1")), want: p},
		{name: "htu trailing slash", proof: mutate(set("htu", dpopURL+"/")), want: p},
		{name: "htu with user info", proof: mutate(set("htu", "https://a@fhir.example.org/fhir/Patient/1")), want: p},
		{name: "iat missing", proof: mutate(del("iat")), want: p},
		{name: "iat string", proof: mutate(set("iat", "1767225600")), want: p},
		{name: "iat negative", proof: mutate(set("iat", -1)), want: p},
		{name: "iat stale", proof: func(t *testing.T, w *dpopWorld) string {
			return w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now().Add(-61*time.Second)) // the default window is 60 s
		}, want: p},
		{name: "iat in the future", proof: func(t *testing.T, w *dpopWorld) string {
			return w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now().Add(6*time.Second)) // the default leeway is 5 s
		}, want: p},
		{name: "ath missing", proof: mutate(del("ath")), want: p},
		{name: "ath number", proof: mutate(set("ath", 1)), want: p},
		{name: "ath of another token", proof: mutate(set("ath", athOf("another-token"))), want: p},
		{name: "ath not hashed", proof: func(t *testing.T, w *dpopWorld) string {
			return mutate(set("ath", w.bound))(t, w)
		}, want: p},
		{name: "nonce a number", proof: mutate(set("nonce", 1)), want: p},
		// The request side.
		{name: "request of another method", proof: mutate(func(h, c map[string]any) {}), method: "PUT", want: p},
		{name: "request to another URL", proof: mutate(func(h, c map[string]any) {}), url: "https://fhir.example.org/fhir/Observation", want: p},
	}
}

func TestDPoPHostileProofs(t *testing.T) {
	cases := hostileProofs()
	refused := 0
	w := newDPoPWorld(t, token.DPoPConfig{}) // every proof has a fresh jti
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, url := "GET", dpopURL
			if tc.method != "" {
				method = tc.method
			}
			if tc.url != "" {
				url = tc.url
			}
			p, err := w.authenticate(w.bound, tc.proof(t, w), method, url)
			if tc.want == nil {
				require.NoError(t, err)
				require.NotNil(t, p)
				return
			}
			require.Nil(t, p)
			require.ErrorIs(t, err, tc.want)
			require.NotContains(t, err.Error(), w.bound, "the error never echoes the token")
		})
		if tc.want != nil {
			refused++
		}
	}
	require.GreaterOrEqual(t, refused, 30)
	t.Logf("%d hostile proofs refused, %d normalization cases accepted", refused, len(cases)-refused)
}

func TestDPoPReplayedProofRefused(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	proof := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	_, err := w.authenticate(w.bound, proof, "GET", dpopURL)
	require.NoError(t, err)
	w.clk.Advance(10 * time.Second)
	_, err = w.authenticate(w.bound, proof, "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrDPoPProof)
	require.Contains(t, err.Error(), "replay")
}

// TestDPoPHostileConfirmation: a cnf claim this package cannot check in
// full is refused, by the DPoP path as well as the bearer path.
func TestDPoPHostileConfirmation(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	jkt := w.signer.thumbprint(t)
	for name, cnf := range map[string]any{
		"cnf a string":               jkt,
		"cnf empty":                  map[string]any{},
		"cnf jkt a number":           map[string]any{"jkt": 7},
		"cnf jkt too short":          map[string]any{"jkt": jkt[:42]},
		"cnf jkt not base64url":      map[string]any{"jkt": strings.Repeat("+", 43)},
		"cnf with a jwk":             map[string]any{"jkt": jkt, "jwk": map[string]any{"kty": "EC"}},
		"cnf with an unknown member": map[string]any{"jkt": jkt, "kid": "k1"},
		"cnf with both bindings":     map[string]any{"jkt": jkt, "x5t#S256": jkt},
		"cnf x5t#S256 only":          map[string]any{"x5t#S256": jkt},
	} {
		raw := w.mint(map[string]any{"scope": "user/Patient.rs", "cnf": cnf})
		_, err := w.authenticate(raw, w.signer.proof(t, "GET", dpopURL, raw, w.clk.Now()), "GET", dpopURL)
		require.ErrorIs(t, err, token.ErrSenderConstrained, name)
		_, err = w.v.Authenticate(context.Background(), raw)
		require.ErrorIs(t, err, token.ErrSenderConstrained, name)
	}
}

// TestDPoPBoundTokenAsBearerThroughIssuers: Issuers answers from its
// Verifiers' caches; a bound token cached by a DPoP request must still be
// refused when it comes back as a bearer token.
func TestDPoPBoundTokenAsBearerThroughIssuers(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	is, err := token.NewIssuers(w.v)
	require.NoError(t, err)
	_, err = is.Authenticate(context.Background(), w.bound)
	require.ErrorIs(t, err, token.ErrSenderConstrained)
	proof := w.signer.proof(t, "GET", dpopURL, w.bound, w.clk.Now())
	_, err = w.c.Authenticate(context.Background(), is, w.bound, proof, token.ProofRequest{Method: "GET", URL: dpopURL})
	require.NoError(t, err, "Issuers is a BoundAuthenticator")
	require.NotZero(t, w.v.Stats().CacheHits+w.v.Stats().CacheMisses)
	_, err = is.Authenticate(context.Background(), w.bound)
	require.ErrorIs(t, err, token.ErrSenderConstrained, "a cached bound token is not a bearer token")
	_, err = is.Authenticate(context.Background(), w.plain)
	require.NoError(t, err)
}

// TestDPoPReplayIsOfTheKeyAndJTI: what a proof is remembered by is its
// key and its jti, not its text or its request. The same proof with its
// ECDSA signature's s replaced by n-s (which verifies as well) is a
// replay, and so is a new proof by the same key that spends a jti again
// for another request; another key's proof with that jti is not.
func TestDPoPReplayIsOfTheKeyAndJTI(t *testing.T) {
	w := newDPoPWorld(t, token.DPoPConfig{})
	claims := proofClaims("GET", dpopURL, w.bound, w.clk.Now())
	proof := w.signer.signMaps(t, w.signer.header(), claims)

	input, sig, _ := strings.Cut(proof[strings.IndexByte(proof, '.')+1:], ".")
	input = proof[:strings.IndexByte(proof, '.')] + "." + input
	raw, err := b64u.DecodeString(sig)
	require.NoError(t, err)
	s := new(big.Int).SetBytes(raw[32:])
	s.Sub(elliptic.P256().Params().N, s)
	malleated := input + "." + b64u.EncodeToString(append(raw[:32:32], s.FillBytes(make([]byte, 32))...))
	require.NotEqual(t, proof, malleated)
	fresh, err := token.NewDPoPChecker(token.DPoPConfig{Clock: w.clk.Now})
	require.NoError(t, err)
	_, err = fresh.Check(context.Background(), malleated, token.ProofRequest{Method: "GET", URL: dpopURL, AccessToken: w.bound})
	require.NoError(t, err, "the malleated proof verifies")

	_, err = w.authenticate(w.bound, proof, "GET", dpopURL)
	require.NoError(t, err)
	_, err = w.authenticate(w.bound, malleated, "GET", dpopURL)
	require.ErrorIs(t, err, token.ErrDPoPProof)
	require.Contains(t, err.Error(), "replay")

	const other = "https://fhir.example.org/fhir/Patient/2"
	again := proofClaims("GET", other, w.bound, w.clk.Now())
	again["jti"] = claims["jti"]
	_, err = w.authenticate(w.bound, w.signer.signMaps(t, w.signer.header(), again), "GET", other)
	require.ErrorIs(t, err, token.ErrDPoPProof)
	require.Contains(t, err.Error(), "replay")

	s2 := newProofSigner(t, "ES256")
	tok2 := w.mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": s2.thumbprint(t)}})
	theirs := proofClaims("GET", dpopURL, tok2, w.clk.Now())
	theirs["jti"] = claims["jti"]
	_, err = w.authenticate(tok2, s2.signMaps(t, s2.header(), theirs), "GET", dpopURL)
	require.NoError(t, err, "a jti is spent for its key only")
}
