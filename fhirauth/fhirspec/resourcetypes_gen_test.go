package fhirspec

import (
	"slices"
	"testing"

	r4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	stu3pb "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestResourceTypesMatchProtos guards resourcetypes_gen.go against drift:
// the tables must equal the ContainedResource oneof of the google/fhir/go
// version in go.mod (run go generate after upgrading it).
func TestResourceTypesMatchProtos(t *testing.T) {
	fromProto := func(md protoreflect.MessageDescriptor) []string {
		var out []string
		fields := md.Oneofs().Get(0).Fields()
		for i := range fields.Len() {
			out = append(out, string(fields.Get(i).Message().Name()))
		}
		slices.Sort(out)
		return out
	}
	assert.Equal(t, fromProto((&stu3pb.ContainedResource{}).ProtoReflect().Descriptor()), ResourceTypes(STU3))
	assert.Equal(t, fromProto((&r4pb.ContainedResource{}).ProtoReflect().Descriptor()), ResourceTypes(R4))
}
