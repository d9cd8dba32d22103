package token_test

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/token"
)

// jwxProof checks a proof's signature with jwx v3 (jws.Verify with the key
// embedded in the header) and returns the key's RFC 7638 thumbprint.
func jwxProof(proof string) (string, error) {
	msg, err := jws.Parse([]byte(proof))
	if err != nil {
		return "", err
	}
	if len(msg.Signatures()) != 1 {
		return "", errors.New("not one signature")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	key, ok := h.JWK()
	if !ok {
		return "", errors.New("no jwk")
	}
	alg, ok := h.Algorithm()
	if !ok {
		return "", errors.New("no alg")
	}
	if _, err := jws.Verify([]byte(proof), jws.WithKey(alg, key)); err != nil {
		return "", err
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return b64u.EncodeToString(tp), nil
}

// TestDPoPDifferentialJWX: the hand-written proof check and jwx v3 agree on
// signatures and thumbprints, for every algorithm and for proofs altered
// byte by byte.
func TestDPoPDifferentialJWX(t *testing.T) {
	now := time.Now()
	for _, alg := range token.DefaultDPoPAlgorithms {
		t.Run(alg, func(t *testing.T) {
			s := newProofSigner(t, alg)
			c, err := token.NewDPoPChecker(token.DPoPConfig{Clock: func() time.Time { return now }})
			require.NoError(t, err)
			req := token.ProofRequest{Method: "POST", URL: "https://idp.example/token"}
			for i := range 40 {
				proof := s.proof(t, "POST", req.URL, "", now)
				if i > 0 { // flip one bit somewhere in the signing input or signature
					b := []byte(proof)
					pos := (i * 7919) % len(b)
					b[pos] ^= 1 << (i % 6)
					proof = string(b)
				}
				p, ours := c.Check(context.Background(), proof, req)
				tp, theirs := jwxProof(proof)
				if i == 0 {
					require.NoError(t, ours, "the unaltered proof")
				}
				if ours == nil {
					require.NoError(t, theirs, "we accepted what jwx refuses (case %d)", i)
					require.Equal(t, tp, p.JKT)
					require.Equal(t, s.thumbprint(t), p.JKT)
				} else if theirs == nil && errors.Is(ours, token.ErrDPoPProof) {
					// jwx checks only the signature: a refusal for a claim
					// or header rule is not a disagreement.
					continue
				}
			}
		})
	}
}

// FuzzDPoPProof: no input crashes or hangs the proof check, and any proof it
// accepts verifies with jwx under the embedded key, with the same thumbprint.
func FuzzDPoPProof(f *testing.F) {
	now := time.Unix(1767225600, 0)
	const url = "https://fhir.example/fhir/Patient"
	for _, alg := range []string{"ES256", "EdDSA"} {
		s := newProofSigner(f, alg)
		f.Add(s.proof(f, "GET", url, "", now))
	}
	c, err := token.NewDPoPChecker(token.DPoPConfig{Clock: func() time.Time { return now }, Replay: noReplay{}})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := c.Check(context.Background(), proof, token.ProofRequest{Method: "GET", URL: url})
		if err != nil {
			if !errors.Is(err, token.ErrDPoPProof) {
				t.Fatalf("error wraps no DPoP sentinel: %v", err)
			}
			return
		}
		tp, err := jwxProof(proof)
		if err != nil {
			t.Fatalf("accepted a proof jwx refuses: %v", err)
		}
		if tp != p.JKT {
			t.Fatalf("thumbprint %s, jwx %s", p.JKT, tp)
		}
	})
}

// noReplay forgets every proof, so that fuzzing may accept one many times.
type noReplay struct{}

func (noReplay) Seen(context.Context, string, time.Time) (bool, error) { return false, nil }

// TestDPoPThumbprintSpellingsJWX: a jwk spelled otherwise than its plain
// form (a line break inside a base64url member, which Go's decoder skips;
// extra members; another member order) is either refused or given the
// RFC 7638 thumbprint jwx v3 computes: one key, one thumbprint.
func TestDPoPThumbprintSpellingsJWX(t *testing.T) {
	now := time.Now()
	req := token.ProofRequest{Method: "POST", URL: "https://idp.example/token"}
	for _, alg := range []string{"ES256", "ES512", "PS256", "EdDSA"} {
		s := newProofSigner(t, alg)
		spellings := map[string]map[string]any{
			"extra members": {"kid": "k1", "use": "sig", "alg": alg},
		}
		for _, m := range []string{"x", "y", "n", "e"} {
			if v, ok := s.jwk[m].(string); ok {
				spellings[m+" with LF"] = map[string]any{m: v[:1] + "\n" + v[1:]}
				spellings[m+" with CRLF"] = map[string]any{m: v[:len(v)-1] + "\r\n" + v[len(v)-1:]}
			}
		}
		for name, change := range spellings {
			t.Run(alg+"/"+name, func(t *testing.T) {
				jwk := map[string]any{}
				for k, v := range s.jwk {
					jwk[k] = v
				}
				for k, v := range change {
					jwk[k] = v
				}
				h := map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": jwk}
				proof := s.signMaps(t, h, proofClaims(req.Method, req.URL, "", now))
				c, err := token.NewDPoPChecker(token.DPoPConfig{Clock: func() time.Time { return now }})
				require.NoError(t, err)
				p, ours := c.Check(context.Background(), proof, req)
				if ours != nil {
					require.ErrorIs(t, ours, token.ErrDPoPProof)
					return
				}
				tp, theirs := jwxProof(proof)
				require.NoError(t, theirs)
				require.Equal(t, tp, p.JKT, "thumbprint differs from jwx's")
				require.Equal(t, s.thumbprint(t), p.JKT)
			})
		}
	}
}

// TestDPoPThumbprintWrittenOtherwiseJWX: a proof's jwk written with its
// members in reverse order, white space between them, extra members and
// JSON escapes inside the values names the same key as its plain form:
// for every accepted algorithm the thumbprint is jwx v3's and the one the
// key's canonical RFC 7638 form gives, so a token bound to the key takes
// the proof however its client's JSON encoder wrote it.
func TestDPoPThumbprintWrittenOtherwiseJWX(t *testing.T) {
	now := time.Now()
	req := token.ProofRequest{Method: "POST", URL: "https://idp.example/token"}
	for _, alg := range token.DefaultDPoPAlgorithms {
		t.Run(alg, func(t *testing.T) {
			s := newProofSigner(t, alg)
			names := []string{"kid", "use"}
			for name := range s.jwk {
				names = append(names, name)
			}
			sort.Sort(sort.Reverse(sort.StringSlice(names)))
			members := make([]string, len(names))
			for i, name := range names {
				v, ok := s.jwk[name].(string)
				if !ok {
					v = "k1"
				}
				// Escape the value's first character: "\u0050-256", "\u0041QAB".
				members[i] = fmt.Sprintf("%q :\t\"\\u%04x%s\"", name, v[0], v[1:])
			}
			header := `{ "jwk" : {` + strings.Join(members, " ,\n ") + `}, "alg":"` + alg + `", "typ":"dpop+jwt" }`
			claims, err := json.Marshal(proofClaims(req.Method, req.URL, "", now))
			require.NoError(t, err)
			proof := s.signRaw(t, []byte(header), claims)
			c, err := token.NewDPoPChecker(token.DPoPConfig{Clock: func() time.Time { return now }})
			require.NoError(t, err)
			p, err := c.Check(context.Background(), proof, req)
			require.NoError(t, err, header)
			tp, err := jwxProof(proof)
			require.NoError(t, err)
			require.Equal(t, tp, p.JKT, "thumbprint differs from jwx's")
			require.Equal(t, s.thumbprint(t), p.JKT, "thumbprint differs from the canonical form's")
		})
	}
}
