package middleware_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/internal/naivefhir"
	"github.com/fhirwarden/fhirwarden/middleware"
	"github.com/fhirwarden/fhirwarden/token"
	"github.com/fhirwarden/fhirwarden/token/tokentest"
)

// clientCert makes a self-signed client certificate (RFC 8705 section 2.2:
// the binding, not a chain, is what the resource server checks).
func clientCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestMTLSBoundTokens(t *testing.T) {
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	require.NoError(t, err)
	defer ver.Close()
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	mw, err := middleware.New(ver, policy, middleware.WithMTLSBinding(), middleware.WithLogger(discardLog()))
	require.NoError(t, err)
	h := mw.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...))

	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()
	plainSrv := httptest.NewServer(h)
	defer plainSrv.Close()

	mine, theirs := clientCert(t, "app"), clientCert(t, "attacker")
	bound := iss.Mint(map[string]any{"scope": "user/Patient.rs",
		"cnf": map[string]any{"x5t#S256": token.CertificateThumbprint(mine.Leaf)}})
	plain := iss.Mint(map[string]any{"scope": "user/Patient.rs"})
	dpopBound := iss.Mint(map[string]any{"scope": "user/Patient.rs", "cnf": map[string]any{"jkt": token.CertificateThumbprint(mine.Leaf)}})

	get := func(base string, cert *tls.Certificate, tok string) int {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.TLSClientConfig.Certificates = nil
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/fhir/Patient", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get(srv.URL, &mine, bound), "the certificate the token is bound to")
	require.Equal(t, http.StatusUnauthorized, get(srv.URL, &theirs, bound), "another certificate")
	require.Equal(t, http.StatusUnauthorized, get(srv.URL, nil, bound), "no certificate")
	require.Equal(t, http.StatusUnauthorized, get(plainSrv.URL, nil, bound), "no TLS")
	require.Equal(t, http.StatusUnauthorized, get(srv.URL, &mine, dpopBound), "a DPoP-bound token needs a proof")
	require.Equal(t, http.StatusOK, get(srv.URL, nil, plain), "unbound tokens as before")

	// Without WithMTLSBinding, a certificate-bound token is refused even
	// over the right connection: nothing checks the binding.
	strict, err := middleware.New(ver, policy, middleware.WithLogger(discardLog()))
	require.NoError(t, err)
	srv.Config.Handler = strict.Wrap(naivefhir.New("/fhir", naivefhir.Sample()...))
	require.Equal(t, http.StatusUnauthorized, get(srv.URL, &mine, bound))
}

func TestMTLSNeedsBoundAuthenticator(t *testing.T) {
	policy, err := fhirauth.NewPolicy(fhirauth.WithBasePath("/fhir"))
	require.NoError(t, err)
	iss := tokentest.NewIssuer()
	defer iss.Close()
	ver, err := token.NewVerifier(context.Background(), token.Config{Issuer: iss.URL, Audience: iss.Audience(), JWKSURL: iss.JWKSURL()})
	require.NoError(t, err)
	defer ver.Close()
	_, err = middleware.New(plainAuth{ver}, policy, middleware.WithMTLSBinding())
	require.ErrorContains(t, err, "BoundAuthenticator")
}
