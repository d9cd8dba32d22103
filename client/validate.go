package client

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// validType reports whether s looks like a FHIR resource type name.
func validType(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// validID reports whether s is a FHIR id (fhirspec.IsID) and not a dot
// segment, which would name a path rather than a resource.
func validID(s string) bool {
	return fhirspec.IsID(s) && s != "." && s != ".."
}

// operationName normalises "$name" or "name" to "$name".
func operationName(s string) (string, bool) {
	s = strings.TrimPrefix(s, "$")
	if len(s) == 0 || len(s) > 64 || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return "", false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return "$" + s, true
}

func checkType(typ string) error {
	if !validType(typ) {
		return fmt.Errorf("%w: resource type %q", ErrInvalidArgument, typ)
	}
	return nil
}

func checkTypeID(typ, id string) error {
	if err := checkType(typ); err != nil {
		return err
	}
	if !validID(id) {
		return fmt.Errorf("%w: id %q is not a FHIR id", ErrInvalidArgument, id)
	}
	return nil
}

// SplitReference splits "Type/id" into its parts, validating both.
func SplitReference(ref string) (typ, id string, err error) {
	typ, id, ok := strings.Cut(ref, "/")
	if !ok {
		return "", "", fmt.Errorf("%w: %q is not Type/id", ErrInvalidArgument, ref)
	}
	if err := checkTypeID(typ, id); err != nil {
		return "", "", err
	}
	return typ, id, nil
}

// resourceHeader is the identifying part of a resource.
type resourceHeader struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Type         string `json:"type"` // Bundle.type
}

// checkBody verifies body is a JSON object of resource type typ (and with
// id, when id is not empty).
func checkBody(body []byte, typ, id string) (resourceHeader, error) {
	var h resourceHeader
	if len(body) == 0 {
		return h, fmt.Errorf("%w: empty %s body", ErrInvalidArgument, typ)
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return h, fmt.Errorf("%w: body is not a FHIR JSON resource: %w", ErrInvalidArgument, err)
	}
	if h.ResourceType != typ {
		return h, fmt.Errorf("%w: body is a %q, want %q", ErrInvalidArgument, h.ResourceType, typ)
	}
	if id != "" && h.ID != id {
		return h, fmt.Errorf("%w: body id %q does not match %q (FHIR update needs the same id in the body)", ErrInvalidArgument, h.ID, id)
	}
	return h, nil
}

// url builds base/seg1/seg2...?query from validated segments.
func (c *Client) url(query url.Values, segs ...string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + "/" + strings.Join(segs, "/")
	if len(segs) == 0 {
		u.Path = c.base.Path
	}
	u.RawPath = ""
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return &u
}

// checkHeaderValue refuses values that would break or smuggle headers.
func checkHeaderValue(name, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("%w: %s value contains a control character", ErrInvalidArgument, name)
	}
	return nil
}

// checkAnyResource verifies body is a JSON object with a resourceType.
func checkAnyResource(body []byte) error {
	var h resourceHeader
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("%w: body is not a FHIR JSON resource: %w", ErrInvalidArgument, err)
	}
	if !validType(h.ResourceType) {
		return fmt.Errorf("%w: body has no valid resourceType", ErrInvalidArgument)
	}
	return nil
}
