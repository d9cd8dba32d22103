package store

import (
	"fmt"
	"sort"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	r4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	stu3pb "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"google.golang.org/protobuf/proto"
)

// maxNesting bounds the depth of a resource's JSON, so a deeply nested
// document cannot exhaust the validator's stack.
const maxNesting = 64

// Validator checks resources against a FHIR version's structure definitions
// with google/fhir/go (unknown elements, wrong types, missing required
// elements, malformed primitives and references are all errors).
type Validator struct {
	version fhirversion.Version
	u       *jsonformat.Unmarshaller
	types   map[string]bool
}

// NewValidator returns a Validator for STU3 or R4.
func NewValidator(v fhirversion.Version) (*Validator, error) {
	u, err := jsonformat.NewUnmarshaller("UTC", v)
	if err != nil {
		return nil, fmt.Errorf("store: validator for %s: %w", v, err)
	}
	u.MaxNestingDepth = maxNesting
	var contained proto.Message
	switch v {
	case fhirversion.STU3:
		contained = &stu3pb.ContainedResource{}
	case fhirversion.R4:
		contained = &r4pb.ContainedResource{}
	default:
		return nil, fmt.Errorf("store: unsupported FHIR version %q", v)
	}
	types := map[string]bool{}
	oneof := contained.ProtoReflect().Descriptor().Oneofs().Get(0)
	for i := 0; i < oneof.Fields().Len(); i++ {
		types[string(oneof.Fields().Get(i).Message().Name())] = true
	}
	return &Validator{version: v, u: u, types: types}, nil
}

// Version returns the FHIR version the validator checks against.
func (v *Validator) Version() fhirversion.Version { return v.version }

// KnownType reports whether t is a resource type of the FHIR version
// (case-sensitive: "observation" is not a type).
func (v *Validator) KnownType(t string) bool { return v.types[t] }

// Types returns the version's resource types, sorted.
func (v *Validator) Types() []string {
	out := make([]string, 0, len(v.types))
	for t := range v.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Validate checks that raw is a valid resource of type typ. The error wraps
// ErrInvalid and says what is wrong.
func (v *Validator) Validate(typ string, raw []byte) error {
	if _, err := v.u.Unmarshal(raw); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrInvalid, v.version, typ, err)
	}
	return nil
}
