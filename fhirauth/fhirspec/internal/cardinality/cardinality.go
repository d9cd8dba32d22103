package cardinality

import (
	"errors"
	"fmt"
	"strings"

	r4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	stu3pb "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrUnknown is returned for a resource type or element the protos do not
// have, or a path that does not end at a Reference.
var ErrUnknown = errors.New("cardinality: unknown element")

// Resources returns the resource messages of a release by type name:
// the message types of the ContainedResource oneof, as internal/gen lists
// them for resourcetypes_gen.go. release is "STU3" or "R4".
func Resources(release string) (map[string]protoreflect.MessageDescriptor, error) {
	var md protoreflect.MessageDescriptor
	switch release {
	case "STU3":
		md = (&stu3pb.ContainedResource{}).ProtoReflect().Descriptor()
	case "R4":
		md = (&r4pb.ContainedResource{}).ProtoReflect().Descriptor()
	default:
		return nil, fmt.Errorf("%w: release %q", ErrUnknown, release)
	}
	out := map[string]protoreflect.MessageDescriptor{}
	fields := md.Oneofs().Get(0).Fields()
	for i := range fields.Len() {
		m := fields.Get(i).Message()
		out[string(m.Name())] = m
	}
	return out, nil
}

// Repeating returns the first element on path (dotted JSON element names
// from the root of resource md, e.g. "member.entity") whose max
// cardinality is not 1, as the dotted path up to it ("member"), or "" when
// every element on the path, the last one included, is single-valued.
// The last element must be a Reference (directly or as the Reference type
// of a choice element such as "valueReference").
func Repeating(md protoreflect.MessageDescriptor, path string) (string, error) {
	repeats := ""
	segs := strings.Split(path, ".")
	for i, seg := range segs {
		f, choice := field(md, seg)
		if f == nil {
			return "", fmt.Errorf("%w: %s has no element %q (in %q)", ErrUnknown, md.FullName(), seg, path)
		}
		if f.IsList() && repeats == "" {
			repeats = strings.Join(segs[:i+1], ".")
		}
		if choice != nil {
			f = choice
		}
		if f.Message() == nil {
			return "", fmt.Errorf("%w: %q stops at a primitive in %s", ErrUnknown, path, md.FullName())
		}
		md = f.Message()
	}
	if md.Name() != "Reference" {
		return "", fmt.Errorf("%w: %q ends at %s, not a Reference", ErrUnknown, path, md.FullName())
	}
	return repeats, nil
}

// field finds the field of md whose JSON name is seg. A choice element is
// named in JSON by its name and type ("valueReference"): then field
// returns the choice field ("value", whose cardinality counts) and the
// oneof member of that type ("reference").
func field(md protoreflect.MessageDescriptor, seg string) (f, choice protoreflect.FieldDescriptor) {
	fields := md.Fields()
	if f := fields.ByJSONName(seg); f != nil {
		return f, nil
	}
	for i := range fields.Len() {
		f := fields.Get(i)
		rest, ok := strings.CutPrefix(seg, f.JSONName())
		if !ok || rest == "" || f.Message() == nil {
			continue
		}
		oneofs := f.Message().Oneofs()
		for j := range oneofs.Len() {
			members := oneofs.Get(j).Fields()
			for k := range members.Len() {
				if m := members.Get(k); strings.EqualFold(m.JSONName(), rest) {
					return f, m
				}
			}
		}
	}
	return nil, nil
}

// Element returns the FHIR data type of the element at path (dotted JSON
// element names from the root of resource md, e.g. "meta.tag"), as the
// name its StructureDefinition has ("CodeableConcept", "Coding",
// "Reference", "code", "boolean", ...), and which segments of the path
// repeat (bit i set: segment i has max cardinality *). A choice element
// is named by its JSON name and type ("medicationCodeableConcept"). It
// returns ErrUnknown for an element md does not have and for a type the
// protos do not name.
func Element(md protoreflect.MessageDescriptor, path string) (typ string, lists uint8, err error) {
	segs := strings.Split(path, ".")
	if len(segs) > 8 {
		return "", 0, fmt.Errorf("%w: %q is deeper than 8 elements", ErrUnknown, path)
	}
	for i, seg := range segs {
		f, choice := field(md, seg)
		if f == nil {
			return "", 0, fmt.Errorf("%w: %s has no element %q (in %q)", ErrUnknown, md.FullName(), seg, path)
		}
		if f.IsList() {
			lists |= 1 << i
		}
		if choice != nil {
			f = choice
		}
		if f.Message() == nil {
			return "", 0, fmt.Errorf("%w: %q stops at a primitive in %s", ErrUnknown, path, md.FullName())
		}
		md = f.Message()
	}
	typ = typeName(md)
	if typ == "" {
		return "", 0, fmt.Errorf("%w: %q is of %s, whose FHIR type the protos do not name", ErrUnknown, path, md.FullName())
	}
	return typ, lists, nil
}

// typeName is the FHIR data type of a datatype message, from its
// options: the StructureDefinition URL of a general type; the profile
// base of an R4 code bound to a value set (Observation.StatusCode); for
// an STU3 bound code (ObservationStatusCode), which names only its value
// set, "code". "" for anything else (a choice, a backbone element).
func typeName(md protoreflect.MessageDescriptor) string {
	var sd, base string
	var bound, primitive bool
	md.Options().ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch fd.Name() {
		case "fhir_structure_definition_url":
			sd = v.String()
		case "fhir_profile_base":
			if fd.IsList() && v.List().Len() > 0 {
				base = v.List().Get(0).String()
			}
		case "fhir_valueset_url":
			bound = true
		case "structure_definition_kind":
			primitive = v.Enum() == 1 // KIND_PRIMITIVE_TYPE
		}
		return true
	})
	const prefix = "http://hl7.org/fhir/StructureDefinition/"
	switch {
	case strings.HasPrefix(sd, prefix):
		return sd[len(prefix):]
	case strings.HasPrefix(base, prefix):
		return base[len(prefix):]
	case sd == "" && base == "" && bound && primitive:
		return "code"
	}
	return ""
}
