package fhirauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	r4codes "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	r4dt "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	r4oo "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/operation_outcome_go_proto"
	s3codes "github.com/google/fhir/go/proto/google/fhir/proto/stu3/codes_go_proto"
	s3dt "github.com/google/fhir/go/proto/google/fhir/proto/stu3/datatypes_go_proto"
	s3res "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// OperationOutcome returns a FHIR JSON OperationOutcome of version v with
// one issue of severity "error", the given issue code ("forbidden",
// "login", "security", "invalid", "not-supported", ...; an unknown code
// becomes "processing") and diagnostics as the issue's diagnostics text.
//
// The document is produced by google/fhir/go's resource model and JSON
// marshaller. Marshalling through protobuf reflection costs tens of
// microseconds, too much for every refused request, so each (version,
// code) pair is marshalled once with a placeholder diagnostics string and
// later answers splice the JSON-escaped diagnostics into that template;
// the package tests check the result equals a direct marshal.
func OperationOutcome(v fhirspec.Version, code, diagnostics string) []byte {
	t := templateFor(v, code)
	if t == nil {
		return nil
	}
	return t.render(diagnostics)
}

// OperationOutcome returns the decision's OperationOutcome (FHIR JSON of the
// policy's version), with the decision's issue code and reason. Allowed
// decisions get an "informational" issue.
func (d *Decision) OperationOutcome() []byte {
	code := d.IssueCode
	if code == "" {
		code = "informational"
	}
	v := fhirspec.R4
	if d.policy != nil {
		v = d.policy.version
	}
	return OperationOutcome(v, code, d.Reason)
}

const diagnosticsMarker = "fhirwarden-diagnostics-placeholder"

// outcomeTemplate is an OperationOutcome split around its diagnostics.
type outcomeTemplate struct {
	prefix, suffix []byte
}

func (t *outcomeTemplate) render(diagnostics string) []byte {
	esc, err := json.Marshal(strings.ToValidUTF8(diagnostics, "\uFFFD"))
	if err != nil { // cannot happen for a valid UTF-8 string
		esc = []byte(`""`)
	}
	esc = esc[1 : len(esc)-1]
	out := make([]byte, 0, len(t.prefix)+len(esc)+len(t.suffix))
	out = append(out, t.prefix...)
	out = append(out, esc...)
	return append(out, t.suffix...)
}

// outcomeCache holds the templates of one version, by issue code.
type outcomeCache struct {
	v         fhirspec.Version
	mu        sync.Mutex
	templates map[string]*outcomeTemplate
}

func newOutcomeCache(v fhirspec.Version) *outcomeCache {
	return &outcomeCache{v: v, templates: map[string]*outcomeTemplate{}}
}

var caches = [...]*outcomeCache{
	fhirspec.STU3: newOutcomeCache(fhirspec.STU3),
	fhirspec.R4:   newOutcomeCache(fhirspec.R4),
}

func templateFor(v fhirspec.Version, code string) *outcomeTemplate {
	if !v.Valid() {
		return nil
	}
	c := caches[v]
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.templates[code]; ok {
		return t
	}
	if _, ok := issueCodeValue(v, code); !ok {
		code = "processing"
		if t, ok := c.templates[code]; ok {
			return t
		}
	}
	raw, err := marshalOutcome(v, code, diagnosticsMarker)
	if err != nil {
		return nil
	}
	i := bytes.Index(raw, []byte(diagnosticsMarker))
	if i < 0 {
		return nil
	}
	t := &outcomeTemplate{prefix: raw[:i], suffix: raw[i+len(diagnosticsMarker):]}
	c.templates[code] = t
	return t
}

// issueCodeValue maps "not-supported" to the enum number of NOT_SUPPORTED.
func issueCodeValue(v fhirspec.Version, code string) (int32, bool) {
	name := strings.ToUpper(strings.ReplaceAll(code, "-", "_"))
	if name == "" || name == "INVALID_UNINITIALIZED" {
		return 0, false
	}
	var n int32
	var ok bool
	switch v {
	case fhirspec.STU3:
		n, ok = s3codes.IssueTypeCode_Value_value[name]
	case fhirspec.R4:
		n, ok = r4codes.IssueTypeCode_Value_value[name]
	}
	return n, ok
}

// marshalOutcome builds and marshals an OperationOutcome with google/fhir/go.
func marshalOutcome(v fhirspec.Version, code, diagnostics string) ([]byte, error) {
	n, ok := issueCodeValue(v, code)
	if !ok {
		return nil, fmt.Errorf("fhirauth: unknown issue code %q", code)
	}
	var msg proto.Message
	var fv fhirversion.Version
	switch v {
	case fhirspec.STU3:
		fv = fhirversion.STU3
		msg = &s3res.OperationOutcome{Issue: []*s3res.OperationOutcome_Issue{{
			Severity:    &s3codes.IssueSeverityCode{Value: s3codes.IssueSeverityCode_ERROR},
			Code:        &s3codes.IssueTypeCode{Value: s3codes.IssueTypeCode_Value(n)},
			Diagnostics: &s3dt.String{Value: diagnostics},
		}}}
	case fhirspec.R4:
		fv = fhirversion.R4
		msg = &r4oo.OperationOutcome{Issue: []*r4oo.OperationOutcome_Issue{{
			Severity:    &r4oo.OperationOutcome_Issue_SeverityCode{Value: r4codes.IssueSeverityCode_ERROR},
			Code:        &r4oo.OperationOutcome_Issue_CodeType{Value: r4codes.IssueTypeCode_Value(n)},
			Diagnostics: &r4dt.String{Value: diagnostics},
		}}}
	default:
		return nil, fhirspec.ErrUnknownVersion
	}
	m, err := jsonformat.NewMarshaller(false, "", "", fv)
	if err != nil {
		return nil, err
	}
	return m.MarshalResource(msg)
}
