package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// maxCapability bounds the upstream's CapabilityStatement the gateway
// reads (a large server's lists every search parameter of every type: a
// few MiB at most).
const maxCapability = 8 << 20

// errVersionMismatch: -fhir-version names another FHIR version than the
// upstream's CapabilityStatement. Retrying cannot fix it.
var errVersionMismatch = errors.New("the upstream's FHIR version is not the one -fhir-version names")

// capabilityTTL is how long GET metadata and /readyz reuse the upstream's
// CapabilityStatement, or the failure to read it. Both answer without a
// token; uncached, each hit would fetch up to maxCapability bytes from the
// upstream.
var capabilityTTL = 5 * time.Second

// capabilityReadTimeout bounds one read of the upstream's
// CapabilityStatement for GET metadata and /readyz.
const capabilityReadTimeout = 10 * time.Second

// capabilityCache reads the upstream's CapabilityStatement at most once
// per capabilityTTL. Callers arriving during a read wait for it.
type capabilityCache struct {
	client   *http.Client
	upstream string

	mu   sync.Mutex // held across a read: one read serves every waiter
	at   time.Time  // when body and err were read; zero before the first read
	body []byte     // shared: callers must not modify it
	err  error
}

// get returns the upstream's CapabilityStatement, read again when the last
// read is older than capabilityTTL. The read serves every caller waiting on
// it, so it does not end when the first caller hangs up;
// capabilityReadTimeout bounds it.
func (c *capabilityCache) get(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < capabilityTTL {
		return c.body, c.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), capabilityReadTimeout)
	defer cancel()
	c.body, c.err = fetchCapability(ctx, c.client, c.upstream)
	c.at = time.Now()
	return c.body, c.err
}

// fetchCapability reads {upstream}/metadata: the upstream's
// CapabilityStatement, as FHIR JSON, at most maxCapability bytes.
func fetchCapability(ctx context.Context, client *http.Client, upstream string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, upstream+"/metadata", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the upstream's CapabilityStatement: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxCapability+1))
	if err != nil {
		return nil, fmt.Errorf("reading the upstream's CapabilityStatement: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the upstream answered GET metadata with status %d", res.StatusCode)
	}
	if len(body) > maxCapability {
		return nil, fmt.Errorf("the upstream's CapabilityStatement is larger than %d bytes", maxCapability)
	}
	return body, nil
}

// capabilityVersion reads the fhirVersion of a CapabilityStatement (R4,
// STU3) or Conformance.
func capabilityVersion(body []byte) (fhirspec.Version, string, error) {
	var cs struct {
		ResourceType string `json:"resourceType"`
		FHIRVersion  string `json:"fhirVersion"`
	}
	if err := json.Unmarshal(body, &cs); err != nil {
		return 0, "", fmt.Errorf("the upstream's metadata is not JSON: %w", err)
	}
	if cs.ResourceType != "CapabilityStatement" {
		return 0, "", fmt.Errorf("the upstream's metadata is a %q, not a CapabilityStatement", clip(cs.ResourceType))
	}
	v, err := fhirspec.ParseVersion(majorMinor(cs.FHIRVersion))
	if err != nil {
		return 0, cs.FHIRVersion, fmt.Errorf("the upstream's fhirVersion %q is not one the gateway supports (STU3, R4)", clip(cs.FHIRVersion))
	}
	return v, cs.FHIRVersion, nil
}

// majorMinor keeps "4.0" of "4.0.1" (any patch release of a version has
// its tables).
func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
