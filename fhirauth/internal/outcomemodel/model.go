package outcomemodel

import (
	"encoding/json"
	"fmt"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	r4codes "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	r4dt "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	r4oo "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/operation_outcome_go_proto"
	s3codes "github.com/google/fhir/go/proto/google/fhir/proto/stu3/codes_go_proto"
	s3dt "github.com/google/fhir/go/proto/google/fhir/proto/stu3/datatypes_go_proto"
	s3res "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// Outcomes returns, for every IssueType code of FHIR version v, the
// OperationOutcome that google/fhir/go marshals for one issue of severity
// "error" with that code and the given diagnostics, keyed by the code as
// FHIR spells it ("forbidden", "not-supported", ...).
func Outcomes(v fhirspec.Version, diagnostics string) (map[string][]byte, error) {
	var fv fhirversion.Version
	var values protoreflect.EnumValueDescriptors
	switch v {
	case fhirspec.STU3:
		fv, values = fhirversion.STU3, s3codes.IssueTypeCode_INVALID_UNINITIALIZED.Descriptor().Values()
	case fhirspec.R4:
		fv, values = fhirversion.R4, r4codes.IssueTypeCode_INVALID_UNINITIALIZED.Descriptor().Values()
	default:
		return nil, fmt.Errorf("outcomemodel: %v: %w", v, fhirspec.ErrUnknownVersion)
	}
	m, err := jsonformat.NewMarshaller(false, "", "", fv)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for i := range values.Len() {
		n := values.Get(i).Number()
		if n == 0 { // INVALID_UNINITIALIZED
			continue
		}
		doc, err := m.MarshalResource(outcome(v, int32(n), diagnostics))
		if err != nil {
			return nil, fmt.Errorf("outcomemodel: %v issue code %s: %w", v, values.Get(i).Name(), err)
		}
		var parsed struct {
			Issue []struct{ Code string }
		}
		if err := json.Unmarshal(doc, &parsed); err != nil || len(parsed.Issue) != 1 || parsed.Issue[0].Code == "" {
			return nil, fmt.Errorf("outcomemodel: %v issue code %s: unexpected document %s", v, values.Get(i).Name(), doc)
		}
		out[parsed.Issue[0].Code] = doc
	}
	return out, nil
}

// outcome is the resource model of an OperationOutcome of version v with
// one error issue of IssueType code number n.
func outcome(v fhirspec.Version, n int32, diagnostics string) proto.Message {
	if v == fhirspec.STU3 {
		return &s3res.OperationOutcome{Issue: []*s3res.OperationOutcome_Issue{{
			Severity:    &s3codes.IssueSeverityCode{Value: s3codes.IssueSeverityCode_ERROR},
			Code:        &s3codes.IssueTypeCode{Value: s3codes.IssueTypeCode_Value(n)},
			Diagnostics: &s3dt.String{Value: diagnostics},
		}}}
	}
	return &r4oo.OperationOutcome{Issue: []*r4oo.OperationOutcome_Issue{{
		Severity:    &r4oo.OperationOutcome_Issue_SeverityCode{Value: r4codes.IssueSeverityCode_ERROR},
		Code:        &r4oo.OperationOutcome_Issue_CodeType{Value: r4codes.IssueTypeCode_Value(n)},
		Diagnostics: &r4dt.String{Value: diagnostics},
	}}}
}
