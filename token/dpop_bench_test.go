package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"github.com/fhirwarden/fhirwarden/internal/cputime"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// BenchmarkDPoP puts the proof check beside the raw ES256 signature check
// it cannot avoid (raw-es256: crypto/ecdsa on a precomputed hash), in one
// process: check is a whole proof (parse, jwk, thumbprint, signature,
// claims, htu) with a replay cache that remembers nothing, replay is the
// in-memory cache alone, and cached-token-with-proof is a request whose
// token the verifier's cache answers for (the proof never can be), beside
// cached-bearer, the same token's cached bearer path.
func BenchmarkDPoP(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	s := newProofSigner(b, "ES256")
	iss := tokentest.NewIssuer(tokentest.WithClock(func() time.Time { return now }))
	defer iss.Close()
	v, err := token.NewVerifier(ctx, token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()},
		token.WithClock(func() time.Time { return now }), token.WithLogger(discardLogger))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	bound := iss.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": s.thumbprint(b)}})
	plain := iss.Mint(map[string]any{"scope": "user/Patient.rs"})
	checker, err := token.NewDPoPChecker(token.DPoPConfig{Replay: noReplay{}, Clock: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	req := token.ProofRequest{Method: "GET", URL: dpopURL}
	proof := s.proof(b, "GET", dpopURL, bound, now)

	b.Run("raw-es256", func(b *testing.B) {
		i := strings.LastIndexByte(proof, '.')
		sum := sha256.Sum256([]byte(proof[:i]))
		sig, _ := b64u.DecodeString(proof[i+1:])
		r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		pub := &s.key.(*ecdsa.PrivateKey).PublicKey
		b.ReportAllocs()
		cpu := cputime.Process()
		for b.Loop() {
			if !ecdsa.Verify(pub, sum[:], r, ss) {
				b.Fatal("verify failed")
			}
		}
		cputime.Report(b, cpu)
	})
	b.Run("check", func(b *testing.B) {
		r := req
		r.AccessToken = bound
		b.ReportAllocs()
		cpu := cputime.Process()
		for b.Loop() {
			if _, err := checker.Check(ctx, proof, r); err != nil {
				b.Fatal(err)
			}
		}
		cputime.Report(b, cpu)
	})
	b.Run("replay", func(b *testing.B) {
		c := token.NewMemoryReplayCache(1 << 20)
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = b64u.EncodeToString(randomBytes(32))
		}
		exp := now.Add(time.Minute)
		b.ReportAllocs()
		cpu := cputime.Process()
		i := 0
		for b.Loop() {
			_, _ = c.Seen(ctx, keys[i%len(keys)], exp)
			i++
		}
		cputime.Report(b, cpu)
	})
	b.Run("cached-bearer", func(b *testing.B) {
		if _, err := v.Authenticate(ctx, plain); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := cputime.Process()
		for b.Loop() {
			if _, err := v.Authenticate(ctx, plain); err != nil {
				b.Fatal(err)
			}
		}
		cputime.Report(b, cpu)
	})
	b.Run("cached-token-with-proof", func(b *testing.B) {
		if _, err := checker.Authenticate(ctx, v, bound, proof, req); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := cputime.Process()
		for b.Loop() {
			if _, err := checker.Authenticate(ctx, v, bound, proof, req); err != nil {
				b.Fatal(err)
			}
		}
		cputime.Report(b, cpu)
	})
}
