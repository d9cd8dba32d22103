package typed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/fhirwarden/fhirwarden/client"
	"github.com/fhirwarden/fhirwarden/client/typed"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/patient_go_proto"
)

// Read a Patient as an R4 proto, change it, and create a copy.
func Example() {
	fhir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", client.FHIRMediaType)
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			fmt.Println("server got", r.URL.Path, string(body))
			w.Header().Set("Location", "Patient/2/_history/1")
			w.WriteHeader(http.StatusCreated)
			return
		}
		_, _ = io.WriteString(w, `{"resourceType":"Patient","id":"9000000009","name":[{"family":"Smith","given":["Jane"]}]}`)
	}))
	defer fhir.Close()

	c, err := client.New(fhir.URL, client.StaticToken("abc"))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	msg, err := typed.Read(ctx, c, "Patient", "9000000009")
	if err != nil {
		log.Fatal(err)
	}
	p := msg.(*patient_go_proto.Patient)
	fmt.Println(p.GetName()[0].GetFamily().GetValue(), p.GetName()[0].GetGiven()[0].GetValue())

	p.Id = nil
	p.GetName()[0].GetGiven()[0].Value = "John"
	res, err := typed.Create(ctx, c, p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.StatusCode, res.Location())
	// Output:
	// Smith Jane
	// server got /Patient {"name":[{"family":"Smith","given":["John"]}],"resourceType":"Patient"}
	// 201 Patient/2/_history/1
}

// A Codec converts without a client: here an STU3 resource the model
// refuses.
func ExampleCodec_Unmarshal() {
	codec, err := typed.NewCodec(fhirspec.STU3)
	if err != nil {
		log.Fatal(err)
	}
	_, err = codec.Unmarshal([]byte(`{"resourceType":"Patient","gender":"not-a-gender"}`))
	fmt.Println(errors.Is(err, client.ErrUnexpectedResponse))
	// Output: true
}
