package client

import (
	"context"
	"net/http"
	"testing"

	r4patient "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"
	stu3 "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const typedPatient = `{"resourceType":"Patient","id":"9000000009","active":true,
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],
 "name":[{"family":"Smith","given":["Jane"]}],"gender":"female","birthDate":"1970-01-01"}`

func TestReadResourceTyped(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/Patient/9000000009":
			writeFHIR(w, 200, typedPatient)
		default:
			writeFHIR(w, 200, `{"resourceType":"Patient","id":"1","gender":"not-a-gender"}`)
		}
	})
	ctx := context.Background()

	r4c, _, _ := newTestClient(t, f.URL, "abc")
	msg, err := r4c.ReadResource(ctx, "Patient", "9000000009")
	require.NoError(t, err)
	p, ok := msg.(*r4patient.Patient)
	require.True(t, ok, "R4 Patient, got %T", msg)
	assert.Equal(t, "9000000009", p.GetId().GetValue())
	assert.Equal(t, "Smith", p.GetName()[0].GetFamily().GetValue())
	assert.True(t, p.GetActive().GetValue())

	stu3c, _, _ := newTestClient(t, f.URL, "abc", WithFHIRVersion(STU3))
	msg, err = stu3c.ReadResource(ctx, "Patient", "9000000009")
	require.NoError(t, err)
	sp, ok := msg.(*stu3.Patient)
	require.True(t, ok, "STU3 Patient, got %T", msg)
	assert.Equal(t, "https://fhir.nhs.uk/Id/nhs-number", sp.GetIdentifier()[0].GetSystem().GetValue())

	_, err = r4c.ReadResource(ctx, "Patient", "1")
	assert.ErrorIs(t, err, ErrUnexpectedResponse, "invalid enum value")
}

func TestCreateResourceTyped(t *testing.T) {
	f := newFakeFHIR(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Location", "Patient/1/_history/1")
		w.WriteHeader(201)
	})
	c, _, _ := newTestClient(t, f.URL, "abc")
	msg, err := c.UnmarshalResource([]byte(typedPatient))
	require.NoError(t, err)
	res, err := c.CreateResource(context.Background(), msg, IfNoneExist("identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009"))
	require.NoError(t, err)
	assert.Equal(t, 201, res.StatusCode)
	seen := f.Seen()
	require.Len(t, seen, 1)
	assert.Equal(t, "/Patient", seen[0].Path)
	assert.JSONEq(t, typedPatient, seen[0].Body, "round trip through the proto keeps the resource")

	_, err = c.MarshalResource(nil)
	assert.ErrorIs(t, err, ErrInvalidArgument)
	for _, bad := range []string{`{}`, `not json`, `{"resourceType":"NoSuchType"}`} {
		_, err := c.UnmarshalResource([]byte(bad))
		assert.ErrorIs(t, err, ErrUnexpectedResponse, bad)
	}
}
