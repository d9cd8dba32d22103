package tokentest

import (
	"encoding/json"
	"net/http"

	"github.com/fhirwarden/fhirwarden/internal/authserver"
)

// serveHTTP applies fault injection and recording around the authorization
// server's handler.
func (iss *Issuer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case authserver.TokenPath:
		rec := record(r)
		iss.mu.Lock()
		iss.tokenReqs = append(iss.tokenReqs, rec)
		iss.mu.Unlock()
	case authserver.IntrospectionPath:
		rec := record(r)
		iss.mu.Lock()
		iss.introspectReqs = append(iss.introspectReqs, rec)
		iss.mu.Unlock()
	case authserver.JWKSPath:
		iss.jwksFetches.Add(1)
	}
	f := iss.faults()
	if !wait(r, f.delay) {
		return
	}
	switch r.URL.Path {
	case authserver.TokenPath:
		if f.tokenStatus != 0 {
			failWith(w, f.tokenStatus)
			return
		}
	case authserver.IntrospectionPath:
		if f.introspectStatus != 0 {
			failWith(w, f.introspectStatus)
			return
		}
	case authserver.DiscoveryPath, authserver.SMARTPath:
		if f.discoveryStatus != 0 {
			failWith(w, f.discoveryStatus)
			return
		}
	case authserver.JWKSPath:
		iss.serveJWKS(w, r, f)
		return
	}
	iss.as.Handler().ServeHTTP(w, r)
}

func (iss *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request, f faults) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		iss.as.Handler().ServeHTTP(w, r) // the real handler answers 405
		return
	}
	if f.jwksStatus != 0 {
		failWith(w, f.jwksStatus)
		return
	}
	cc := f.jwksCacheControl
	if cc == "" {
		cc = "public, max-age=300"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cc)
	switch {
	case f.jwksGarbage:
		_, _ = w.Write([]byte(`<html>{"keys": not json</html>`))
	case f.jwksEmpty:
		_, _ = w.Write([]byte(`{"keys":[]}`))
	case f.jwksNoAlg:
		_, _ = w.Write(withoutAlg(iss.JWKS()))
	default:
		_, _ = w.Write(iss.JWKS())
	}
}

// withoutAlg removes "alg" from every key of a JWK Set document.
func withoutAlg(doc []byte) []byte {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return doc
	}
	for _, k := range set.Keys {
		delete(k, "alg")
	}
	out, err := json.Marshal(set)
	if err != nil {
		return doc
	}
	return out
}
