package typed

import (
	"context"
	"fmt"
	"sync"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Codec converts FHIR JSON to and from the google/fhir/go resource messages
// of one FHIR version. It is safe for concurrent use. Building one is not
// free (each holds an unmarshaller and a marshaller for the whole version):
// build it once and reuse it. Read and Create share one cached Codec per
// version.
type Codec struct {
	version fhirspec.Version
	um      *jsonformat.Unmarshaller
	m       *jsonformat.Marshaller
}

// NewCodec returns a Codec for FHIR version v (fhirspec.STU3 or fhirspec.R4).
// Any other version is an error wrapping client.ErrConfig, as with
// client.WithFHIRVersion.
func NewCodec(v fhirspec.Version) (*Codec, error) {
	var ver fhirversion.Version
	switch v {
	case fhirspec.STU3:
		ver = fhirversion.STU3
	case fhirspec.R4:
		ver = fhirversion.R4
	default:
		return nil, fmt.Errorf("%w: unsupported FHIR version %q (want STU3 or R4)", client.ErrConfig, v)
	}
	um, err := jsonformat.NewUnmarshallerWithoutValidation("UTC", ver)
	if err != nil {
		return nil, fmt.Errorf("typed: %s unmarshaller: %w", v, err)
	}
	m, err := jsonformat.NewMarshaller(false, "", "", ver)
	if err != nil {
		return nil, fmt.Errorf("typed: %s marshaller: %w", v, err)
	}
	return &Codec{version: v, um: um, m: m}, nil
}

// Version returns the FHIR version the Codec converts.
func (c *Codec) Version() fhirspec.Version { return c.version }

// Unmarshal parses FHIR JSON into the google/fhir/go resource message of
// the Codec's version (e.g. *patient_go_proto.Patient for R4), not wrapped
// in a ContainedResource. Data that is not a resource of that version
// (invalid JSON, an unknown resourceType, a value the model refuses) is an
// error wrapping client.ErrUnexpectedResponse.
func (c *Codec) Unmarshal(data []byte) (proto.Message, error) {
	contained, err := c.um.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s resource: %w", client.ErrUnexpectedResponse, c.version, err)
	}
	return unwrapContained(contained)
}

// Marshal renders a google/fhir/go resource message of the Codec's version
// as FHIR JSON. A nil message, or one the marshaller refuses, is an error
// wrapping client.ErrInvalidArgument.
func (c *Codec) Marshal(msg proto.Message) ([]byte, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: nil resource", client.ErrInvalidArgument)
	}
	data, err := c.m.MarshalResource(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s resource: %w", client.ErrInvalidArgument, c.version, err)
	}
	return data, nil
}

// Read reads typ/id with c.Read and returns it as a google/fhir/go message
// of c's FHIR version (e.g. *patient_go_proto.Patient for R4). Errors of
// the read are returned as they are; a body that is not a resource of that
// version wraps client.ErrUnexpectedResponse (see Codec.Unmarshal).
func Read(ctx context.Context, c *client.Client, typ, id string, opts ...client.RequestOption) (proto.Message, error) {
	res, err := c.Read(ctx, typ, id, opts...)
	if err != nil {
		return nil, err
	}
	cd, err := codecFor(c.Version())
	if err != nil {
		return nil, err
	}
	return cd.Unmarshal(res.Body)
}

// Create creates msg, a google/fhir/go resource message of c's FHIR
// version, with c.Create: the message's type names the resource type. See
// client.Client.Create and client.IfNoneExist. A nil or unmarshalable
// message wraps client.ErrInvalidArgument and nothing is sent.
func Create(ctx context.Context, c *client.Client, msg proto.Message, opts ...client.RequestOption) (*client.Result, error) {
	cd, err := codecFor(c.Version())
	if err != nil {
		return nil, err
	}
	data, err := cd.Marshal(msg)
	if err != nil {
		return nil, err
	}
	return c.Create(ctx, string(msg.ProtoReflect().Descriptor().Name()), data, opts...)
}

// lazyCodec builds the Codec of one version on first use.
type lazyCodec struct {
	once  sync.Once
	codec *Codec
	err   error
}

// codecs are the cached Codecs of Read and Create, one per version.
var codecs = map[fhirspec.Version]*lazyCodec{
	fhirspec.STU3: {},
	fhirspec.R4:   {},
}

// codecFor returns the cached Codec for v, building it on first use.
func codecFor(v fhirspec.Version) (*Codec, error) {
	l, ok := codecs[v]
	if !ok {
		return NewCodec(v) // an unsupported version: the error
	}
	l.once.Do(func() { l.codec, l.err = NewCodec(v) })
	return l.codec, l.err
}

// unwrapContained returns the resource set in a ContainedResource oneof.
func unwrapContained(m proto.Message) (proto.Message, error) {
	rm := m.ProtoReflect()
	oneofs := rm.Descriptor().Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		fd := rm.WhichOneof(oneofs.Get(i))
		if fd != nil && fd.Kind() == protoreflect.MessageKind {
			return rm.Get(fd).Message().Interface(), nil
		}
	}
	return nil, fmt.Errorf("%w: no resource in ContainedResource", client.ErrUnexpectedResponse)
}
