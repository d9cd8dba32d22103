package tokentest

import (
	"net/http"
	"time"
)

// FailJWKS makes the JWKS endpoint answer status (with a JSON error body);
// 0 makes it healthy again.
func (iss *Issuer) FailJWKS(status int) { iss.set(func() { iss.jwksStatus = status }) }

// JWKSGarbage makes the JWKS endpoint answer 200 with a body that is not a
// JWK Set (while on is true).
func (iss *Issuer) JWKSGarbage(on bool) { iss.set(func() { iss.jwksGarbage = on }) }

// EmptyJWKS makes the JWKS endpoint answer 200 with {"keys":[]} (while on is
// true): a verifier must not let it replace a good key set.
func (iss *Issuer) EmptyJWKS(on bool) { iss.set(func() { iss.jwksEmpty = on }) }

// JWKSWithoutAlg serves the keys without their "alg" member (while on is
// true), as some identity providers do: a verifier must infer the algorithm
// from the key type or skip the key, never accept any algorithm.
func (iss *Issuer) JWKSWithoutAlg(on bool) { iss.set(func() { iss.jwksNoAlg = on }) }

// SetJWKSCacheControl sets the Cache-Control header of JWKS responses; ""
// restores the default ("public, max-age=300").
func (iss *Issuer) SetJWKSCacheControl(v string) { iss.set(func() { iss.jwksCacheControl = v }) }

// FailIntrospection makes the introspection endpoint answer status; 0 heals.
func (iss *Issuer) FailIntrospection(status int) { iss.set(func() { iss.introspectStatus = status }) }

// FailDiscovery makes the discovery documents (openid-configuration and
// smart-configuration) answer status; 0 heals.
func (iss *Issuer) FailDiscovery(status int) { iss.set(func() { iss.discoveryStatus = status }) }

// FailToken makes the token endpoint answer status with an OAuth2
// "server_error" body (or "temporarily_unavailable" for 503); 0 heals. The
// request is still recorded.
func (iss *Issuer) FailToken(status int) { iss.set(func() { iss.tokenStatus = status }) }

// SetDelay delays every response by d (0 for none), to simulate a slow
// identity provider. A delayed request ends early when its client goes away.
func (iss *Issuer) SetDelay(d time.Duration) { iss.set(func() { iss.delay = d }) }

func (iss *Issuer) set(f func()) {
	iss.mu.Lock()
	f()
	iss.mu.Unlock()
}

// faults is a snapshot of the fault settings for one request.
type faults struct {
	jwksStatus, introspectStatus, discoveryStatus, tokenStatus int
	jwksGarbage, jwksEmpty, jwksNoAlg                          bool
	jwksCacheControl                                           string
	delay                                                      time.Duration
}

func (iss *Issuer) faults() faults {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return faults{
		jwksStatus: iss.jwksStatus, introspectStatus: iss.introspectStatus,
		discoveryStatus: iss.discoveryStatus, tokenStatus: iss.tokenStatus,
		jwksGarbage: iss.jwksGarbage, jwksEmpty: iss.jwksEmpty, jwksNoAlg: iss.jwksNoAlg,
		jwksCacheControl: iss.jwksCacheControl, delay: iss.delay,
	}
}

// wait sleeps d or until the request is cancelled; it reports whether the
// request is still wanted.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func failWith(w http.ResponseWriter, status int) {
	code := "server_error"
	if status == http.StatusServiceUnavailable {
		code = "temporarily_unavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + code + `","error_description":"injected by tokentest"}` + "\n"))
}
