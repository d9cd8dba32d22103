package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/client"
)

// jtiKey is a DPoP key whose proofs may spend a chosen jti: the proofs a
// client.DPoPKey makes always have a fresh one.
type jtiKey struct {
	priv *ecdsa.PrivateKey
	*client.DPoPKey
}

func newJTIKey(t *testing.T) jtiKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	k, err := client.NewDPoPKey(priv)
	require.NoError(t, err)
	return jtiKey{priv: priv, DPoPKey: k}
}

// proof is a proof for method and u carrying tok, with jti when given.
func (k jtiKey) proof(t *testing.T, method, u, tok, jti string) string {
	t.Helper()
	p, err := k.Proof(method, u, tok, "")
	require.NoError(t, err)
	if jti == "" {
		return p
	}
	b64 := base64.RawURLEncoding
	sum := sha256.Sum256([]byte(tok))
	payload, err := json.Marshal(map[string]any{"jti": jti, "htm": method, "htu": u,
		"iat": json.Number(strconv.FormatInt(time.Now().Unix(), 10)), "ath": b64.EncodeToString(sum[:])})
	require.NoError(t, err)
	input := p[:strings.IndexByte(p, '.')] + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, digest[:])
	require.NoError(t, err)
	return input + "." + b64.EncodeToString(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// dpopToken is a token of client id bound to k.
func dpopToken(t *testing.T, a *attackServer, id string, k jtiKey) string {
	t.Helper()
	ts, err := client.ClientCredentials(a.s.TokenURL(), id, "s3cret", client.WithDPoP(k.DPoPKey))
	require.NoError(t, err)
	tok, err := ts.TokenContext(context.Background())
	require.NoError(t, err)
	require.Equal(t, "DPoP", tok.Type())
	return tok.AccessToken
}

// sendAs sends method u with "Authorization: scheme tok" and proof (none
// when "").
func sendAs(t *testing.T, method, u, scheme, tok, proof string, hdr ...string) reply {
	t.Helper()
	if proof != "" {
		hdr = append(hdr, "DPoP", proof)
	}
	return call(t, method, u, "", nil, append(hdr, "Authorization", scheme+" "+tok)...)
}

// requireDPoPRefusal: a 401 whose DPoP challenge names code.
func requireDPoPRefusal(t *testing.T, r reply, code, name string) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, r.status, "%s: %s", name, r.body)
	chs := strings.Join(r.header.Values("WWW-Authenticate"), "\n")
	assert.Contains(t, chs, `DPoP realm=`, name)
	assert.Contains(t, chs, `error="`+code+`"`, name)
	assert.Contains(t, chs, `algs="`, name)
}

// TestDPoPBesideTheMiddleware: a DPoP-bound token works on the Bulk Data
// status and file URLs and on GET /explain with a proof for that URL and
// method by its key, checked against the middleware's replay cache; any
// other proof, and the token as Bearer, are refused with a challenge.
func TestDPoPBesideTheMiddleware(t *testing.T) {
	a := startAttack(t, exportClients)
	key := newJTIKey(t)
	tok := dpopToken(t, a, "bulk", key)
	kick := a.s.BaseURL() + "/$export"
	r := sendAs(t, http.MethodGet, kick, "DPoP", tok, key.proof(t, "GET", kick, tok, ""),
		"Prefer", "respond-async", "Accept", "application/fhir+json")
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	status := r.header.Get("Content-Location")
	explain := a.s.URL() + "/explain"

	var m reply
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		m = sendAs(t, http.MethodGet, status, "DPoP", tok, key.proof(t, "GET", status, tok, ""))
		if m.status != http.StatusAccepted {
			break
		}
	}
	require.Equal(t, http.StatusOK, m.status, string(m.body))
	var man struct{ Output []struct{ URL string } }
	require.NoError(t, json.Unmarshal(m.body, &man))
	require.NotEmpty(t, man.Output)
	file := man.Output[0].URL
	f := sendAs(t, http.MethodGet, file, "DPoP", tok, key.proof(t, "GET", file, tok, ""))
	require.Equal(t, http.StatusOK, f.status, string(f.body))
	e := sendAs(t, http.MethodGet, explain, "DPoP", tok, key.proof(t, "GET", explain, tok, ""))
	require.Equal(t, http.StatusOK, e.status, string(e.body))
	assert.Contains(t, string(e.body), "system/")

	other := newJTIKey(t)
	spent := key.proof(t, "GET", file, tok, "")
	require.Equal(t, http.StatusOK, sendAs(t, http.MethodGet, file, "DPoP", tok, spent).status)
	for _, u := range []string{status, file, explain} {
		for name, p := range map[string]string{
			"proof for another URL":   key.proof(t, "GET", kick, tok, ""),
			"proof for a longer URL":  key.proof(t, "GET", u+"x", tok, ""),
			"proof for DELETE":        key.proof(t, "DELETE", u, tok, ""),
			"proof by another key":    other.proof(t, "GET", u, tok, ""),
			"proof for another token": key.proof(t, "GET", u, tok+"x", ""),
		} {
			requireDPoPRefusal(t, sendAs(t, http.MethodGet, u, "DPoP", tok, p), "invalid_dpop_proof", name+" on "+u)
		}
		requireDPoPRefusal(t, sendAs(t, http.MethodGet, u, "DPoP", tok, ""), "invalid_dpop_proof", "no proof on "+u)
		if u == file {
			requireDPoPRefusal(t, sendAs(t, http.MethodGet, u, "DPoP", tok, spent), "invalid_dpop_proof", "replayed proof")
		}
		b := sendAs(t, http.MethodGet, u, "Bearer", tok, key.proof(t, "GET", u, tok, ""))
		require.Equal(t, http.StatusUnauthorized, b.status, "the bound token as Bearer on %s: %s", u, b.body)
		assert.Contains(t, b.header.Values("WWW-Authenticate"), `Bearer realm="`+realmOf(u)+`", error="invalid_token"`)
	}
	d := sendAs(t, http.MethodDelete, status, "DPoP", tok, key.proof(t, "GET", status, tok, ""))
	requireDPoPRefusal(t, d, "invalid_dpop_proof", "a GET proof for DELETE")
	d = sendAs(t, http.MethodDelete, status, "DPoP", tok, key.proof(t, "DELETE", status, tok, ""))
	require.Equal(t, http.StatusAccepted, d.status, string(d.body))
}

func realmOf(u string) string {
	if strings.Contains(u, "/bulk/") {
		return "bulk"
	}
	return "careconnect"
}

// TestDPoPProofSpentEverywhere: a proof's jti, once spent on a FHIR URL
// through the middleware, is spent for the job's URL and GET /explain,
// and the other way round: they share one replay cache.
func TestDPoPProofSpentEverywhere(t *testing.T) {
	a := startAttack(t, exportClients)
	key := newJTIKey(t)
	tok := dpopToken(t, a, "bulk", key)
	kick := a.s.BaseURL() + "/$export"
	r := sendAs(t, http.MethodGet, kick, "DPoP", tok, key.proof(t, "GET", kick, tok, ""), "Prefer", "respond-async")
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	status := r.header.Get("Content-Location")
	fhir := a.s.BaseURL() + "/Patient/1"
	explain := a.s.URL() + "/explain"
	ok := func(r reply) bool { return r.status == http.StatusOK || r.status == http.StatusAccepted }

	for i, u := range []string{status, explain} {
		jti := "fhir-first-" + strconv.Itoa(i)
		require.True(t, ok(sendAs(t, http.MethodGet, fhir, "DPoP", tok, key.proof(t, "GET", fhir, tok, jti))))
		requireDPoPRefusal(t, sendAs(t, http.MethodGet, u, "DPoP", tok, key.proof(t, "GET", u, tok, jti)),
			"invalid_dpop_proof", "a jti spent on /fhir, then on "+u)

		jti = "side-first-" + strconv.Itoa(i)
		first := sendAs(t, http.MethodGet, u, "DPoP", tok, key.proof(t, "GET", u, tok, jti))
		require.True(t, ok(first), "%s: %d %s", u, first.status, first.body)
		requireDPoPRefusal(t, sendAs(t, http.MethodGet, fhir, "DPoP", tok, key.proof(t, "GET", fhir, tok, jti)),
			"invalid_dpop_proof", "a jti spent on "+u+", then on /fhir")
	}
}

// TestDPoPJobOfAnotherClientIsUnknown: another client's DPoP token with
// a valid proof gets for the job what it gets for a job that is not
// there.
func TestDPoPJobOfAnotherClientIsUnknown(t *testing.T) {
	a := startAttack(t, exportClients)
	key, key2 := newJTIKey(t), newJTIKey(t)
	tok, tok2 := dpopToken(t, a, "bulk", key), dpopToken(t, a, "bulk2", key2)
	kick := a.s.BaseURL() + "/$export"
	r := sendAs(t, http.MethodGet, kick, "DPoP", tok, key.proof(t, "GET", kick, tok, ""), "Prefer", "respond-async")
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	status := r.header.Get("Content-Location")
	unknown := a.s.URL() + "/bulk/" + strings.Repeat("0", 32)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		theirs := sendAs(t, method, status, "DPoP", tok2, key2.proof(t, method, status, tok2, ""))
		none := sendAs(t, method, unknown, "DPoP", tok2, key2.proof(t, method, unknown, tok2, ""))
		require.Equal(t, http.StatusNotFound, theirs.status, string(theirs.body))
		assert.Equal(t, none.status, theirs.status)
		assert.Equal(t, string(none.body), string(theirs.body))
	}
	mine := sendAs(t, http.MethodGet, status, "DPoP", tok, key.proof(t, "GET", status, tok, ""))
	assert.Contains(t, []int{http.StatusOK, http.StatusAccepted}, mine.status, "the job is still there")
}
