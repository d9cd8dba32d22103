package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// maxTokenResponse bounds a token endpoint answer.
const maxTokenResponse = 1 << 20

// tokenForm is the form of a client_credentials token request without
// client authentication: grant_type, the scopes and the endpoint
// parameters of cfg.
func tokenForm(cfg *tokenConfig) url.Values {
	form := url.Values{}
	for k, vs := range cfg.params {
		form[k] = append([]string(nil), vs...)
	}
	form.Set("grant_type", "client_credentials")
	if len(cfg.scopes) > 0 {
		form.Set("scope", strings.Join(cfg.scopes, " "))
	}
	return form
}

// postToken sends one token request (form, authenticated by auth when it
// is not nil) with cfg's HTTP client and returns the answer with its body
// read, within maxTokenResponse, and closed. The request asks for JSON,
// the one answer format RFC 6749 section 5.1 allows.
func postToken(ctx context.Context, cfg *tokenConfig, tokenURL string, form url.Values, auth func(*http.Request)) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, fmt.Errorf("client: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if auth != nil {
		auth(req)
	}
	resp, err := cfg.httpClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("client: token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("client: token response: %w", err)
	}
	if len(body) > maxTokenResponse {
		return nil, nil, &OAuthError{StatusCode: resp.StatusCode, Err: fmt.Errorf("%w: token response over %d bytes", ErrResponseTooLarge, maxTokenResponse)}
	}
	return resp, body, nil
}

// readTokenResponse turns a token endpoint answer into a token that
// checkToken accepts, or an *OAuthError.
func readTokenResponse(status int, body []byte, dpop bool) (*oauth2.Token, error) {
	tok, err := parseTokenResponse(status, body)
	if err != nil {
		return nil, err
	}
	if err := checkToken(tok, dpop, status); err != nil {
		return nil, err
	}
	return tok, nil
}

// parseTokenResponse turns a token endpoint answer into a token or an
// *OAuthError. The body is read as JSON whatever its Content-Type says
// (servers label JSON text/plain); a body that is not one JSON object (a
// form-encoded answer included), or whose object has two members a
// parser may take for one (jsonsyntax's rule: the same name, escaped or
// in another case), is refused rather than read one way here and
// another way elsewhere.
func parseTokenResponse(status int, body []byte) (*oauth2.Token, error) {
	var tr struct {
		AccessToken      string          `json:"access_token"`
		TokenType        string          `json:"token_type"`
		ExpiresIn        json.RawMessage `json:"expires_in"`
		RefreshToken     string          `json:"refresh_token"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
		ErrorURI         string          `json:"error_uri"`
	}
	obj := jsonsyntax.ReadObject(body, 0, 0)
	err := obj.Done(true)
	if err == nil {
		err = json.Unmarshal(body, &tr)
	}
	if err != nil {
		if status < 200 || status > 299 {
			return nil, &OAuthError{StatusCode: status, Err: fmt.Errorf("token response is not JSON: %w", err)}
		}
		return nil, &OAuthError{StatusCode: status, Err: fmt.Errorf("%w: token response is not one JSON object with distinct member names: %w", ErrUnexpectedResponse, err)}
	}
	if status < 200 || status > 299 || tr.Error != "" {
		return nil, &OAuthError{Code: tr.Error, Description: tr.ErrorDescription, URI: tr.ErrorURI, StatusCode: status}
	}
	if tr.AccessToken == "" {
		return nil, &OAuthError{StatusCode: status, Err: fmt.Errorf("%w: token response without access_token", ErrUnexpectedResponse)}
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: tr.RefreshToken}
	if secs, ok := parseExpiresIn(tr.ExpiresIn); ok {
		tok.ExpiresIn = max(secs, 0)
		tok.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	var raw map[string]any
	if json.Unmarshal(body, &raw) == nil {
		tok = tok.WithExtra(raw)
	}
	return tok, nil
}

// parseExpiresIn reads expires_in, a JSON number or a numeric string, as
// whole seconds (a fraction is cut). ok is false, for a token without an
// announced expiry, when it is absent, null, zero, not a number, or over
// 2^31 seconds (68 years: no token lives so long, and the bound keeps
// every lifetime far from overflowing a time.Duration). A negative value
// is -1: the server says the token has expired, so it is not reused
// (x/oauth2 reads it so too).
func parseExpiresIn(raw json.RawMessage) (secs int64, ok bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "" || s == "null" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if n, ierr := strconv.ParseInt(s, 10, 64); ierr == nil {
		f, err = float64(n), nil
	}
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange), math.IsNaN(f):
		return 0, false
	case f < 0:
		return -1, true
	case f < 1 || f > 1<<31:
		return 0, false
	}
	return int64(f), true
}
