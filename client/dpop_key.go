package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

var b64url = base64.RawURLEncoding

// DPoPKey is a client's DPoP key (RFC 9449): it signs the proof sent with
// every token request and every FHIR request, and tokens issued for it are
// bound to its thumbprint. It is safe for concurrent use.
type DPoPKey struct {
	signer crypto.Signer
	alg    string
	hash   crypto.Hash // 0 for EdDSA
	size   int         // ECDSA: bytes of r and of s
	header string      // base64url of the proof header (typ, alg, jwk)
	jkt    string
	now    func() time.Time
}

// GenerateDPoPKey makes a fresh ES256 (P-256) key, kept in memory only.
func GenerateDPoPKey() (*DPoPKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("client: generating a DPoP key: %w", err)
	}
	return NewDPoPKey(k)
}

// NewDPoPKey wraps a private key: ECDSA P-256, P-384 or P-521 (ES256,
// ES384, ES512), RSA of 2048 bits or more (PS256) or Ed25519 (EdDSA).
func NewDPoPKey(signer crypto.Signer) (*DPoPKey, error) {
	k := &DPoPKey{signer: signer, now: time.Now}
	var members map[string]string
	switch pub := signer.Public().(type) {
	case *ecdsa.PublicKey:
		names := map[elliptic.Curve][2]string{elliptic.P256(): {"ES256", "P-256"}, elliptic.P384(): {"ES384", "P-384"}, elliptic.P521(): {"ES512", "P-521"}}
		n, ok := names[pub.Curve]
		if !ok {
			return nil, fmt.Errorf("%w: DPoP key: unsupported EC curve", ErrConfig)
		}
		k.alg, k.size = n[0], (pub.Curve.Params().BitSize+7)/8
		k.hash = map[string]crypto.Hash{"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512}[k.alg]
		point, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: DPoP key: %w", ErrConfig, err)
		}
		members = map[string]string{"kty": "EC", "crv": n[1],
			"x": b64url.EncodeToString(point[1 : 1+k.size]), "y": b64url.EncodeToString(point[1+k.size:])}
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: DPoP key: RSA key of %d bits is shorter than 2048", ErrConfig, pub.N.BitLen())
		}
		k.alg, k.hash = "PS256", crypto.SHA256
		members = map[string]string{"kty": "RSA", "n": b64url.EncodeToString(pub.N.Bytes()),
			"e": b64url.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
	case ed25519.PublicKey:
		k.alg = "EdDSA"
		members = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64url.EncodeToString(pub)}
	default:
		return nil, fmt.Errorf("%w: DPoP key: unsupported key type %T", ErrConfig, pub)
	}
	// encoding/json writes map members sorted: the RFC 7638 canonical form.
	canonical, _ := json.Marshal(members)
	sum := sha256.Sum256(canonical)
	k.jkt = b64url.EncodeToString(sum[:])
	header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": members})
	k.header = b64url.EncodeToString(header)
	return k, nil
}

// LoadDPoPKey reads a private key from a file: PEM (PKCS #8, SEC 1 EC or
// PKCS #1 RSA) or a JWK (or a JWK Set of one key).
func LoadDPoPKey(path string) (*DPoPKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: DPoP key: %w", ErrConfig, err)
	}
	if blk, _ := pem.Decode(data); blk != nil {
		return dpopKeyFromDER(blk.Bytes)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		// ParsePrivateKey accepts only what can sign client assertions;
		// a DPoP key may also be Ed25519.
		k, perr := jwk.ParseKey(data)
		if perr != nil {
			return nil, err
		}
		key = k
	}
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, fmt.Errorf("%w: DPoP key: %w", ErrConfig, err)
	}
	if ed, ok := raw.(ed25519.PrivateKey); ok {
		return NewDPoPKey(ed)
	}
	if p, ok := raw.(*ed25519.PrivateKey); ok {
		return NewDPoPKey(*p)
	}
	signer, ok := raw.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: DPoP key: %T is not a private key", ErrConfig, raw)
	}
	return NewDPoPKey(signer)
}

func dpopKeyFromDER(der []byte) (*DPoPKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return NewDPoPKey(s)
		}
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return NewDPoPKey(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return NewDPoPKey(k)
	}
	return nil, fmt.Errorf("%w: DPoP key: PEM block is not a PKCS #8, EC or PKCS #1 private key", ErrConfig)
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint: the cnf.jkt of the
// tokens bound to it.
func (k *DPoPKey) Thumbprint() string { return k.jkt }

// WithClock returns a copy of k whose proofs take their iat from now
// instead of time.Now (a client whose clock is off from the server's).
func (k *DPoPKey) WithClock(now func() time.Time) *DPoPKey {
	c := *k
	c.now = now
	return &c
}

// Algorithm is the JWS algorithm of the key's proofs.
func (k *DPoPKey) Algorithm() string { return k.alg }

// Proof signs a DPoP proof for a request: method, the target URL (its
// query and fragment are dropped), the access token it carries ("" for a
// token request) and the server's nonce ("" if none was asked for). Every
// proof has a fresh jti: make one per request, retries included.
func (k *DPoPKey) Proof(method, target, accessToken, nonce string) (string, error) {
	htu, _, _ := strings.Cut(target, "#")
	htu, _, _ = strings.Cut(htu, "?")
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("client: DPoP proof: %w", err)
	}
	claims := map[string]any{"jti": b64url.EncodeToString(jti), "htm": method, "htu": htu,
		"iat": json.Number(strconv.FormatInt(k.now().Unix(), 10))}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = b64url.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("client: DPoP proof: %w", err)
	}
	input := k.header + "." + b64url.EncodeToString(payload)
	sig, err := k.sign([]byte(input))
	if err != nil {
		return "", fmt.Errorf("client: DPoP proof: %w", err)
	}
	return input + "." + b64url.EncodeToString(sig), nil
}

// sign makes the JWS signature of input: r||s for ECDSA, PSS for RSA.
func (k *DPoPKey) sign(input []byte) ([]byte, error) {
	if k.hash == 0 {
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h := k.hash.New()
	h.Write(input)
	digest := h.Sum(nil)
	if _, ok := k.signer.Public().(*rsa.PublicKey); ok {
		return k.signer.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: k.hash})
	}
	der, err := k.signer.Sign(rand.Reader, digest, k.hash)
	if err != nil {
		return nil, err
	}
	return ecdsaDERToJWS(der, k.size)
}

// ecdsaDERToJWS turns an ASN.1 ECDSA signature into JWS's fixed-size r||s.
func ecdsaDERToJWS(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, fmt.Errorf("malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}
