package client

import (
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// maxAccessToken bounds the access tokens the client accepts (64 KiB):
// far above what servers issue (a JWT with many claims is a few KiB),
// and below what would turn every request into a header most servers
// refuse.
const maxAccessToken = 64 << 10

// checkToken is the one rule for the tokens the client uses, whatever
// source they come from: the token caches of this package apply it
// before they cache a token, and a Client applies it before it sends one
// (so a token source the caller built, such as an x/oauth2 authorization
// code source and its refreshes, is held to it too). dpop says whether
// the source binds its tokens to a DPoP key; status is the HTTP status of
// the token endpoint's answer, 0 where it is not known.
//
// The access token must be what an Authorization header carries as Bearer
// (RFC 6750 section 2.1) or DPoP (RFC 9449 section 7.1) credentials:
// visible ASCII, at most maxAccessToken bytes (see checkAccessToken).
//
// The token_type rule (RFC 6749 section 7.1: names are case-insensitive):
//   - without a DPoP key, Bearer in any letter case is accepted, and so is
//     an absent or empty token_type. RFC 6749 requires the member, but
//     servers in use omit it, and a client that sent no proof can only
//     have been issued a bearer token: it is sent as Bearer, the one
//     scheme the client speaks without a key, as x/oauth2 does. DPoP
//     (it would be sent without a proof) and any other type (mac, N_A,
//     ..., a scheme the client cannot speak) are refused with an
//     *OAuthError wrapping ErrUnexpectedResponse;
//   - with a DPoP key, only DPoP is accepted; anything else, an absent
//     token_type included, is refused with an *OAuthError wrapping
//     ErrDPoPNotBound (RFC 9449 section 5: a bound token is typed DPoP).
func checkToken(tok *oauth2.Token, dpop bool, status int) error {
	if oe := tokenProblem(tok, dpop); oe != nil {
		oe.StatusCode = status
		return oe
	}
	return nil
}

// tokenProblem is what checkToken refuses tok for, nil when nothing.
func tokenProblem(tok *oauth2.Token, dpop bool) *OAuthError {
	if tok == nil || tok.AccessToken == "" {
		return &OAuthError{Err: fmt.Errorf("%w: the token endpoint returned no access_token", ErrUnexpectedResponse)}
	}
	if err := checkAccessToken(tok.AccessToken); err != nil {
		return &OAuthError{Err: err}
	}
	return tokenTypeProblem(tok.TokenType, dpop)
}

// tokenTypeProblem applies the token_type rule of checkToken.
func tokenTypeProblem(tokenType string, dpop bool) *OAuthError {
	isDPoP := strings.EqualFold(tokenType, "DPoP")
	isBearer := tokenType == "" || strings.EqualFold(tokenType, "Bearer")
	switch {
	case dpop && isDPoP, !dpop && isBearer:
		return nil
	case dpop:
		return &OAuthError{Err: fmt.Errorf("%w: the token endpoint answered %s", ErrDPoPNotBound, describeTokenType(tokenType))}
	case isDPoP:
		return &OAuthError{Err: fmt.Errorf("%w: the token endpoint answered %s, but the token source has no DPoP key to sign proofs with (see WithDPoP)",
			ErrUnexpectedResponse, describeTokenType(tokenType))}
	}
	return &OAuthError{Err: fmt.Errorf("%w: the token endpoint answered %s; the client sends Bearer or DPoP tokens only",
		ErrUnexpectedResponse, describeTokenType(tokenType))}
}

// describeTokenType names a token_type in a message, escaped and clipped.
func describeTokenType(tokenType string) string {
	if tokenType == "" {
		return "no token_type"
	}
	return fmt.Sprintf("token_type %q", serverText(tokenType))
}

// checkAccessToken reports, wrapping ErrUnexpectedResponse, an access
// token that has a byte outside visible ASCII (RFC 9110's VCHAR, 0x21 to
// 0x7E) or is longer than maxAccessToken. Sent as it is, such a token
// would be refused by net/http on every request (CR, LF and other control
// characters) while the cache kept it, or reach the FHIR server as
// credentials it splits otherwise than the token endpoint meant (spaces)
// or decodes otherwise (non-ASCII). RFC 6750's b64token is narrower, but
// servers in use issue tokens with other visible characters ('!', '|',
// ':'), which a header carries unchanged. The message names the offending
// byte's position, never the token.
func checkAccessToken(s string) error {
	if len(s) > maxAccessToken {
		return fmt.Errorf("%w: the access token is %d bytes, over the %d the client sends", ErrUnexpectedResponse, len(s), maxAccessToken)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return fmt.Errorf("%w: the access token has byte 0x%02x at offset %d, which an Authorization header cannot carry as it is",
				ErrUnexpectedResponse, s[i], i)
		}
	}
	return nil
}
