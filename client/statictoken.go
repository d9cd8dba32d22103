package client

import "golang.org/x/oauth2"

// StaticToken returns a token source that always returns accessToken as a
// Bearer token. It cannot be refreshed: a 401 is returned as an *Error.
func StaticToken(accessToken string) oauth2.TokenSource {
	return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"})
}
