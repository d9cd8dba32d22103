package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
)

// CertificateThumbprint is the x5t#S256 of a certificate: the base64url
// SHA-256 of its DER encoding (RFC 8705 section 3.1).
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return b64.EncodeToString(sum[:])
}

// AuthenticateMTLS admits a bearer token presented over a TLS connection
// (RFC 8705): a token bound to a certificate (cnf x5t#S256) only when the
// connection's client certificate is that one, an unbound token as
// Authenticate would, a DPoP-bound token never (it needs a proof). conn is
// the request's TLS state (nil over plain HTTP). Checking the certificate
// chain, or accepting self-signed certificates, is the TLS layer's
// configuration; this checks only the binding.
func AuthenticateMTLS(ctx context.Context, auth BoundAuthenticator, raw string, conn *tls.ConnectionState) (*Principal, error) {
	p, err := auth.AuthenticateBound(ctx, raw)
	if err != nil {
		return nil, err
	}
	want := p.Confirmation.X5TS256
	switch {
	case p.Confirmation.JKT != "":
		return nil, fail(ErrSenderConstrained, "token is bound to a DPoP key and needs a DPoP proof")
	case want == "":
		return p, nil
	case conn == nil || len(conn.PeerCertificates) == 0:
		return nil, fail(ErrSenderConstrained, "token is bound to a TLS client certificate and the connection has none")
	}
	got := CertificateThumbprint(conn.PeerCertificates[0])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return nil, fail(ErrSenderConstrained, "the connection's client certificate is not the one the token is bound to (cnf x5t#S256)")
	}
	return p, nil
}
