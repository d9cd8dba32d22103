package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// request is one FHIR interaction, ready to send (and to resend).
type request struct {
	method      string
	url         *url.URL
	body        []byte
	contentType string
	header      http.Header
	safe        bool // no side effects: retryable whatever the method
}

// contextTokenSource is a token source whose wait can be cancelled.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// invalidator is a token source that can drop a rejected token.
type invalidator interface {
	Invalidate(tok *oauth2.Token)
}

// token gets a token from the client's source (nil when it has none).
func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	if c.ts == nil {
		return nil, nil
	}
	var (
		tok *oauth2.Token
		err error
	)
	if cts, ok := c.ts.(contextTokenSource); ok {
		tok, err = cts.TokenContext(ctx)
	} else {
		tok, err = c.ts.Token()
	}
	if err != nil {
		return nil, fmt.Errorf("client: obtaining a token: %w", err)
	}
	if _, cached := c.ts.(*TokenCache); cached {
		return tok, nil // checked when it was fetched, with the same key
	}
	if err := checkToken(tok, c.dpop != nil, 0); err != nil {
		return nil, fmt.Errorf("client: obtaining a token: %w", err)
	}
	return tok, nil
}

// do sends r: with a token, retrying on 429/503 within the policy and once
// on a 401 invalid_token with a fresh token. Non-2xx answers become *Error.
func (c *Client) do(ctx context.Context, r *request) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	canRetry := idempotentMethod(r.method) || r.safe || c.retryUnsafe
	retries := 0
	nonceRetried := false
	var (
		rejected *oauth2.Token // token refused with invalid_token
		refusal  *Error        // the 401 that refused it
	)
	for {
		tok, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		if rejected != nil && tok != nil && tok.AccessToken == rejected.AccessToken {
			// The source cannot give a different token: no point retrying.
			return nil, refusal
		}
		res, err := c.send(ctx, r, tok)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 && res.StatusCode <= 299 {
			return res, nil
		}
		fe := c.newError(r, res)
		switch {
		case !nonceRetried && c.useDPoPNonce(res.StatusCode, res.Header):
			nonceRetried = true
			continue
		case res.StatusCode == http.StatusUnauthorized && rejected == nil && tok != nil &&
			bearerError(res.Header.Values("WWW-Authenticate")) == "invalid_token":
			inv, ok := c.ts.(invalidator)
			if !ok {
				return nil, fe
			}
			inv.Invalidate(tok)
			rejected, refusal = tok, fe
			continue
		case retryable(res.StatusCode) && canRetry && retries < c.retry.MaxRetries:
			delay := c.retry.backoff(retries)
			if fe.RetryAfter > 0 {
				delay = fe.RetryAfter
			}
			if delay > c.retry.MaxWait {
				return nil, fe
			}
			if err := c.sleep(ctx, delay); err != nil {
				return nil, fmt.Errorf("client: waiting to retry %s %s: %w", r.method, redactURL(r.url), err)
			}
			retries++
			continue
		}
		return nil, fe
	}
}

// send performs one HTTP exchange and reads the body within the limit.
func (c *Client) send(ctx context.Context, r *request, tok *oauth2.Token) (*Result, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", r.method, redactURL(r.url), err)
	}
	for k, vs := range r.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Accept", FHIRMediaType)
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = FHIRMediaType
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if tok != nil {
		req.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
		if err := c.signDPoP(req, tok); err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", r.method, redactURL(r.url), err)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		redactURLError(err)
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, fmt.Errorf("client: %s %s: %w", r.method, redactURL(r.url), err)
	}
	defer resp.Body.Close()
	c.dpopNonce.note(resp.Header)
	if resp.ContentLength > c.maxBody {
		return nil, &ResponseTooLargeError{Method: r.method, URL: redactURL(r.url), Limit: c.maxBody}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: reading response: %w", r.method, redactURL(r.url), err)
	}
	if int64(len(data)) > c.maxBody {
		return nil, &ResponseTooLargeError{Method: r.method, URL: redactURL(r.url), Limit: c.maxBody}
	}
	return &Result{StatusCode: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// redactURLError drops the query (search parameters, which may name a
// patient) and userinfo from the URL net/http's *url.Error names: the
// request's, or a redirect target's.
func redactURLError(err error) {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return
	}
	if u, perr := url.Parse(ue.URL); perr == nil {
		ue.URL = redactURL(u)
	} else {
		ue.URL = ""
	}
}

// maxErrorBody bounds the raw body kept in an *Error.
const maxErrorBody = 4 << 10

// newError builds the *Error for a non-2xx result.
func (c *Client) newError(r *request, res *Result) *Error {
	e := &Error{Method: r.method, URL: redactURL(r.url), StatusCode: res.StatusCode}
	if d, ok := parseRetryAfter(res.Header.Get("Retry-After"), c.now()); ok {
		e.RetryAfter = d
	}
	if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
		e.Challenge = res.Header.Get("WWW-Authenticate")
	}
	if e.Outcome = parseOutcome(res.Body); e.Outcome == nil && len(res.Body) > 0 {
		e.Body = append([]byte(nil), res.Body[:min(len(res.Body), maxErrorBody)]...)
	}
	return e
}
