package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// explain describes what the token may do, or, given METHOD and a
// request, whether that request is allowed and why. It judges locally,
// with fhirwarden's default policy for the server's FHIR version, from
// the token's claims as the token says them (read, not verified: this
// is the caller's own token, and the server verifies it anyway).
func (a *app) explain(ctx context.Context) error {
	pr, err := a.principal(ctx)
	if err != nil {
		return err
	}
	policy, err := a.policy(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "fhirctl: judged by fhirwarden's default %v policy from the token's claims; the server's own policy may allow more (shared types, operations)\n", policy.Version())
	if len(a.cfg.args) == 0 {
		return a.printExplanation(policy.Explain(ctx, pr))
	}
	r, err := a.explainRequest(ctx, policy)
	if err != nil {
		return err
	}
	x := policy.ExplainRequest(ctx, pr, r)
	if err := a.printExplanation(x); err != nil {
		return err
	}
	if !x.Allowed {
		return deniedError{}
	}
	return nil
}

// printExplanation prints v as words or, with -json, as JSON. The words
// repeat the token's claims as the token endpoint wrote them (scopes,
// patient, client id), so they are sanitized like any server text.
func (a *app) printExplanation(v fmt.Stringer) error {
	if !a.cfg.jsonOut {
		_, err := fmt.Fprintln(a.stdout, sanitize(v.String()))
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.printJSON(data)
}

// explainRequest builds the HTTP request explain judges.
func (a *app) explainRequest(ctx context.Context, policy *fhirauth.Policy) (*http.Request, error) {
	var body io.Reader
	if len(a.cfg.args) == 3 {
		data, err := a.readInput(a.cfg.args[2])
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(data)
	}
	target := policy.BasePath() + "/" + a.cfg.args[1]
	r, err := http.NewRequestWithContext(ctx, a.cfg.args[0], target, body)
	if err != nil {
		return nil, usagef("explain: %q: %v", a.cfg.args[1], err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/fhir+json")
	}
	return r, nil
}

// policy builds the default policy for the server's FHIR version and
// base path: -fhir-version, else the CapabilityStatement's fhirVersion.
func (a *app) policy(ctx context.Context) (*fhirauth.Policy, error) {
	v, err := a.fhirVersion(ctx)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(a.fhir.BaseURL())
	base := strings.TrimRight(u.Path, "/")
	if base == "" {
		base = "/"
	}
	p, err := fhirauth.NewPolicy(fhirauth.WithVersion(v), fhirauth.WithBasePath(base))
	if err != nil {
		return nil, usagef("-base path %q: %v", base, err)
	}
	return p, nil
}

// fhirVersion returns the version to judge with.
func (a *app) fhirVersion(ctx context.Context) (fhirspec.Version, error) {
	if a.cfg.version != 0 {
		return a.cfg.version, nil
	}
	res, err := a.fhir.Capabilities(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the server's FHIR version (or give -fhir-version): %w", err)
	}
	var cs struct {
		FHIRVersion string `json:"fhirVersion"`
	}
	if err := json.Unmarshal(res.Body, &cs); err != nil || cs.FHIRVersion == "" {
		return 0, errors.New("the CapabilityStatement names no fhirVersion; give -fhir-version")
	}
	return fhirspec.ParseVersion(cs.FHIRVersion)
}

// principal gets the token and reads its scopes, patient and client id:
// from the JWT's claims, or else from the token response.
func (a *app) principal(ctx context.Context) (*token.Principal, error) {
	if a.ts == nil {
		return nil, usagef("explain: needs a token: -token (FHIR_TOKEN), or -client-id with -client-secret or -key")
	}
	tok, err := a.ts.Token()
	if err != nil {
		return nil, err
	}
	claims, ok := jwtClaims(tok.AccessToken)
	if !ok {
		claims = map[string]any{}
		if err := json.Unmarshal(a.capture.Last(), &claims); err != nil || claims["scope"] == nil {
			return nil, errors.New("explain: the token is not a JWT and the token response named no scope; nothing to explain")
		}
	}
	raw := scopeClaim(claims)
	set, _ := scope.ParseSetLenient(raw)
	pr := &token.Principal{Scopes: set}
	scopeJSON, err := json.Marshal(map[string]string{"scope": raw})
	if err != nil {
		return nil, err
	}
	if err := pr.SetClaims(scopeJSON); err != nil {
		return nil, err
	}
	pr.Patient, _ = claims["patient"].(string)
	if pr.ClientID, _ = claims["client_id"].(string); pr.ClientID == "" {
		pr.ClientID, _ = claims["azp"].(string)
	}
	return pr, nil
}

// scopeClaim returns the scope claim as one space-separated string (the
// "scope" string, or the "scp" array some issuers use).
func scopeClaim(claims map[string]any) string {
	if s, ok := claims["scope"].(string); ok {
		return s
	}
	if arr, ok := claims["scp"].([]any); ok {
		var parts []string
		for _, v := range arr {
			if s, ok := v.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " ")
	}
	if s, ok := claims["scp"].(string); ok {
		return s
	}
	return ""
}

// jwtClaims decodes the payload of a compact JWT without verifying it.
func jwtClaims(raw string) (map[string]any, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(data, &claims) != nil {
		return nil, false
	}
	return claims, true
}
