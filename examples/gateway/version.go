package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// maxCapability bounds the upstream's CapabilityStatement the gateway
// reads (a large server's lists every search parameter of every type: a
// few MiB at most).
const maxCapability = 8 << 20

// errVersionMismatch: -fhir-version names another FHIR version than the
// upstream's CapabilityStatement. Retrying cannot fix it.
var errVersionMismatch = errors.New("the upstream's FHIR version is not the one -fhir-version names")

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
