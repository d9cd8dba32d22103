package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// ClientCredentials returns a caching token source for the OAuth2 client
// credentials grant (RFC 6749 section 4.4). The client authenticates with
// HTTP Basic (ClientSecretBasic, the Care Connect default) unless
// WithClientAuth(ClientSecretPost) puts the credentials in the form body.
// The token request asks for JSON, and the answer is read like
// BackendServices' (one parser, one size limit, one token_type rule).
//
// Token endpoint refusals are *OAuthError values.
func ClientCredentials(tokenURL, clientID, clientSecret string, opts ...TokenOption) (*TokenCache, error) {
	cfg, err := newTokenConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := checkTokenURL(tokenURL, cfg.insecureHTTP); err != nil {
		return nil, err
	}
	if clientID == "" || clientSecret == "" {
		return nil, fmt.Errorf("%w: client credentials need a client id and a secret", ErrConfig)
	}
	cc := &clientCredentials{tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, cfg: cfg}
	switch cfg.clientAuth {
	case "", ClientSecretBasic:
		cc.basic = true
	case ClientSecretPost:
	default:
		return nil, fmt.Errorf("%w: client credentials with a secret cannot use %s (see BackendServices)", ErrConfig, cfg.clientAuth)
	}
	return newTokenCache(cc.fetch, cfg), nil
}

// clientCredentials fetches tokens with a client secret.
type clientCredentials struct {
	tokenURL     string
	clientID     string
	clientSecret string
	basic        bool // ClientSecretBasic, else ClientSecretPost
	cfg          *tokenConfig
}

// fetch sends one token request. With WithDPoP the proof's transport
// answers a nonce challenge itself by sending the same request once more
// (it holds no single-use assertion).
func (cc *clientCredentials) fetch(ctx context.Context) (*oauth2.Token, error) {
	form := tokenForm(cc.cfg)
	var auth func(*http.Request)
	if cc.basic {
		// RFC 6749 section 2.3.1: form-encoded before Basic encoding.
		auth = func(r *http.Request) {
			r.SetBasicAuth(url.QueryEscape(cc.clientID), url.QueryEscape(cc.clientSecret))
		}
	} else {
		form.Set("client_id", cc.clientID)
		form.Set("client_secret", cc.clientSecret)
	}
	resp, body, err := postToken(ctx, cc.cfg, cc.tokenURL, form, auth)
	if err != nil {
		return nil, err
	}
	return readTokenResponse(resp.StatusCode, body, cc.cfg.dpop != nil)
}
