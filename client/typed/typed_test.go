package typed_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/client/internal/fakefhir"
	"github.com/fhirwarden/fhirwarden/client/typed"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	r4patient "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"
	stu3 "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const typedPatient = `{"resourceType":"Patient","id":"9000000009","active":true,
 "identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9000000009"}],
 "name":[{"family":"Smith","given":["Jane"]}],"gender":"female","birthDate":"1970-01-01"}`

func newClient(t *testing.T, base string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(base, client.StaticToken("abc"), opts...)
	require.NoError(t, err)
	return c
}

// patientServer answers Patient/9000000009 with typedPatient and anything
// else with a Patient whose gender is not a value of the code system.
func patientServer(t *testing.T) *fakefhir.Server {
	return fakefhir.New(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		switch r.URL.Path {
		case "/Patient/9000000009":
			fakefhir.Write(w, 200, typedPatient)
		case "/Patient/404":
			fakefhir.Write(w, 404, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
		default:
			fakefhir.Write(w, 200, `{"resourceType":"Patient","id":"1","gender":"not-a-gender"}`)
		}
	})
}

func TestRead(t *testing.T) {
	f := patientServer(t)
	ctx := context.Background()

	r4c := newClient(t, f.URL)
	msg, err := typed.Read(ctx, r4c, "Patient", "9000000009")
	require.NoError(t, err)
	p, ok := msg.(*r4patient.Patient)
	require.True(t, ok, "R4 Patient, got %T", msg)
	assert.Equal(t, "9000000009", p.GetId().GetValue())
	assert.Equal(t, "Smith", p.GetName()[0].GetFamily().GetValue())
	assert.True(t, p.GetActive().GetValue())

	stu3c := newClient(t, f.URL, client.WithFHIRVersion(fhirspec.STU3))
	msg, err = typed.Read(ctx, stu3c, "Patient", "9000000009")
	require.NoError(t, err)
	sp, ok := msg.(*stu3.Patient)
	require.True(t, ok, "STU3 Patient, got %T", msg)
	assert.Equal(t, "https://fhir.nhs.uk/Id/nhs-number", sp.GetIdentifier()[0].GetSystem().GetValue())

	_, err = typed.Read(ctx, r4c, "Patient", "1")
	assert.ErrorIs(t, err, client.ErrUnexpectedResponse, "invalid enum value")

	_, err = typed.Read(ctx, r4c, "Patient", "404")
	assert.ErrorIs(t, err, client.ErrNotFound, "the read's error is returned as it is")
	var fe *client.Error
	assert.ErrorAs(t, err, &fe)

	seen := f.Seen()
	require.NotEmpty(t, seen)
	assert.Equal(t, "Bearer abc", seen[0].Header.Get("Authorization"))
}

func TestCreate(t *testing.T) {
	f := fakefhir.New(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		w.Header().Set("Location", "Patient/1/_history/1")
		w.WriteHeader(201)
	})
	c := newClient(t, f.URL)
	codec, err := typed.NewCodec(c.Version())
	require.NoError(t, err)
	msg, err := codec.Unmarshal([]byte(typedPatient))
	require.NoError(t, err)
	res, err := typed.Create(context.Background(), c, msg, client.IfNoneExist("identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009"))
	require.NoError(t, err)
	assert.Equal(t, 201, res.StatusCode)
	seen := f.Seen()
	require.Len(t, seen, 1)
	assert.Equal(t, http.MethodPost, seen[0].Method)
	assert.Equal(t, "/Patient", seen[0].Path)
	assert.Equal(t, "identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009", seen[0].Header.Get("If-None-Exist"))
	assert.JSONEq(t, typedPatient, seen[0].Body, "round trip through the proto keeps the resource")

	_, err = typed.Create(context.Background(), c, nil)
	assert.ErrorIs(t, err, client.ErrInvalidArgument)
	assert.Len(t, f.Seen(), 1, "nothing sent for a nil message")
}

func TestCodec(t *testing.T) {
	for _, v := range []fhirspec.Version{fhirspec.R4, fhirspec.STU3} {
		t.Run(string(v), func(t *testing.T) {
			codec, err := typed.NewCodec(v)
			require.NoError(t, err)
			assert.Equal(t, v, codec.Version())

			_, err = codec.Marshal(nil)
			assert.ErrorIs(t, err, client.ErrInvalidArgument)
			for _, bad := range []string{`{}`, `not json`, `{"resourceType":"NoSuchType"}`} {
				_, err := codec.Unmarshal([]byte(bad))
				assert.ErrorIs(t, err, client.ErrUnexpectedResponse, bad)
			}

			msg, err := codec.Unmarshal([]byte(typedPatient))
			require.NoError(t, err)
			data, err := codec.Marshal(msg)
			require.NoError(t, err)
			assert.JSONEq(t, typedPatient, string(data))
		})
	}

	_, err := typed.NewCodec(fhirspec.Version(9))
	assert.ErrorIs(t, err, client.ErrConfig)
}

// TestConcurrentUse reads and creates with clients of both versions from
// many goroutines at once, so the race detector sees the cached codecs
// built and used concurrently.
func TestConcurrentUse(t *testing.T) {
	f := fakefhir.New(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Method == http.MethodPost {
			w.WriteHeader(201)
			return
		}
		fakefhir.Write(w, 200, typedPatient)
	})
	clients := []*client.Client{newClient(t, f.URL), newClient(t, f.URL, client.WithFHIRVersion(fhirspec.STU3))}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 16 {
		c := clients[i%len(clients)]
		wg.Go(func() {
			for range 4 {
				msg, err := typed.Read(ctx, c, "Patient", "9000000009")
				if !assert.NoError(t, err) {
					return
				}
				switch c.Version() {
				case fhirspec.R4:
					assert.IsType(t, &r4patient.Patient{}, msg)
				case fhirspec.STU3:
					assert.IsType(t, &stu3.Patient{}, msg)
				}
				res, err := typed.Create(ctx, c, msg)
				if assert.NoError(t, err) {
					assert.Equal(t, 201, res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	for _, s := range f.Seen() {
		if s.Method == http.MethodPost {
			assert.JSONEq(t, typedPatient, s.Body)
		}
	}
}
