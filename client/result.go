package client

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Result is a FHIR server's successful answer.
type Result struct {
	// StatusCode is the HTTP status (200, 201, 204, ...).
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the raw FHIR JSON (empty for 204 or Prefer: return=minimal).
	Body json.RawMessage
}

// ETag returns the ETag header (e.g. W/"3").
func (r *Result) ETag() string { return r.Header.Get("ETag") }

// Location returns the Location (or Content-Location) header: where a
// created or updated resource version lives.
func (r *Result) Location() string {
	if l := r.Header.Get("Location"); l != "" {
		return l
	}
	return r.Header.Get("Content-Location")
}

// VersionID returns the resource's version id: from the ETag if present,
// else from meta.versionId of the body.
func (r *Result) VersionID() string {
	if v := versionFromETag(r.ETag()); v != "" {
		return v
	}
	var m struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if json.Unmarshal(r.Body, &m) == nil {
		return m.Meta.VersionID
	}
	return ""
}

// versionFromETag extracts n from W/"n" or "n".
func versionFromETag(etag string) string {
	etag = strings.TrimSpace(etag)
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) >= 2 && etag[0] == '"' && etag[len(etag)-1] == '"' {
		return etag[1 : len(etag)-1]
	}
	return ""
}
