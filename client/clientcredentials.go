package client

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentials returns a caching token source for the OAuth2 client
// credentials grant (RFC 6749 section 4.4) through x/oauth2's
// clientcredentials package. The client authenticates with HTTP Basic
// (ClientSecretBasic, the Care Connect default) unless
// WithClientAuth(ClientSecretPost) puts the credentials in the form body.
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
	style := oauth2.AuthStyleInHeader
	switch cfg.clientAuth {
	case "", ClientSecretBasic:
	case ClientSecretPost:
		style = oauth2.AuthStyleInParams
	default:
		return nil, fmt.Errorf("%w: client credentials with a secret cannot use %s (see BackendServices)", ErrConfig, cfg.clientAuth)
	}
	conf := &clientcredentials.Config{
		ClientID:       clientID,
		ClientSecret:   clientSecret,
		TokenURL:       tokenURL,
		Scopes:         cfg.scopes,
		EndpointParams: cfg.params,
		AuthStyle:      style,
	}
	hc := cfg.httpClient
	fetch := func(ctx context.Context) (*oauth2.Token, error) {
		tok, err := conf.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
		if err != nil {
			return nil, tokenError(err)
		}
		return tok, nil
	}
	return newTokenCache(fetch, cfg), nil
}

// tokenError maps x/oauth2's RetrieveError into an *OAuthError and wraps
// anything else.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		oe := &OAuthError{
			Code:        re.ErrorCode,
			Description: re.ErrorDescription,
			URI:         re.ErrorURI,
			Err:         err,
		}
		if re.Response != nil {
			oe.StatusCode = re.Response.StatusCode
		}
		return oe
	}
	return fmt.Errorf("client: token request: %w", err)
}
