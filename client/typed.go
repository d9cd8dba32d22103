package client

import (
	"context"
	"fmt"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// typedCodec converts FHIR JSON to and from google/fhir/go protos.
type typedCodec struct {
	um *jsonformat.Unmarshaller
	m  *jsonformat.Marshaller
}

// codec builds the converters for the configured version once.
func (c *Client) codec() (*typedCodec, error) {
	c.typedOnce.Do(func() {
		ver := fhirversion.R4
		if c.version == STU3 {
			ver = fhirversion.STU3
		}
		um, err := jsonformat.NewUnmarshallerWithoutValidation("UTC", ver)
		if err != nil {
			c.typedErr = fmt.Errorf("client: %s unmarshaller: %w", c.version, err)
			return
		}
		m, err := jsonformat.NewMarshaller(false, "", "", ver)
		if err != nil {
			c.typedErr = fmt.Errorf("client: %s marshaller: %w", c.version, err)
			return
		}
		c.typed = &typedCodec{um: um, m: m}
	})
	return c.typed, c.typedErr
}

// UnmarshalResource parses FHIR JSON into the google/fhir/go resource
// message of the configured version (e.g. *r4 patient_go_proto.Patient),
// not wrapped in a ContainedResource.
func (c *Client) UnmarshalResource(data []byte) (proto.Message, error) {
	tc, err := c.codec()
	if err != nil {
		return nil, err
	}
	contained, err := tc.um.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s resource: %w", ErrUnexpectedResponse, c.version, err)
	}
	return unwrapContained(contained)
}

// MarshalResource renders a google/fhir/go resource message of the
// configured version as FHIR JSON.
func (c *Client) MarshalResource(msg proto.Message) ([]byte, error) {
	tc, err := c.codec()
	if err != nil {
		return nil, err
	}
	if msg == nil {
		return nil, fmt.Errorf("%w: nil resource", ErrInvalidArgument)
	}
	data, err := tc.m.MarshalResource(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s resource: %w", ErrInvalidArgument, c.version, err)
	}
	return data, nil
}

// ReadResource reads Type/id and returns it as a google/fhir/go message of
// the configured FHIR version (e.g. *patient_go_proto.Patient).
func (c *Client) ReadResource(ctx context.Context, typ, id string, opts ...RequestOption) (proto.Message, error) {
	res, err := c.Read(ctx, typ, id, opts...)
	if err != nil {
		return nil, err
	}
	return c.UnmarshalResource(res.Body)
}

// CreateResource creates a google/fhir/go resource message (its type is
// the resource type). See Create.
func (c *Client) CreateResource(ctx context.Context, msg proto.Message, opts ...RequestOption) (*Result, error) {
	data, err := c.MarshalResource(msg)
	if err != nil {
		return nil, err
	}
	return c.Create(ctx, string(msg.ProtoReflect().Descriptor().Name()), data, opts...)
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
	return nil, fmt.Errorf("%w: no resource in ContainedResource", ErrUnexpectedResponse)
}
