// Package typed reads and creates FHIR resources as google/fhir/go protos
// (e.g. *patient_go_proto.Patient) with a client.Client, and converts FHIR
// JSON to and from those protos.
//
//	c, err := client.New("https://fhir.example/fhir", ts, client.WithFHIRVersion(fhirspec.R4))
//	if err != nil {
//		return err
//	}
//	msg, err := typed.Read(ctx, c, "Patient", "9000000009")
//	if err != nil {
//		return err
//	}
//	p := msg.(*patient_go_proto.Patient) // R4; STU3 gives *resources_go_proto.Patient
//	fmt.Println(p.GetName()[0].GetFamily().GetValue())
//
//	res, err := typed.Create(ctx, c, p, client.IfNoneExist("identifier=https://fhir.nhs.uk/Id/nhs-number|9000000009"))
//
// Read and Create use the FHIR version of the client (fhirspec.Version) and
// share one Codec per version, built on first use and safe for concurrent
// use. NewCodec builds a Codec for converting without a client.
//
// # Why a separate package
//
// It imports github.com/google/fhir/go/jsonformat, whose package
// initialisation builds about 16 MB of live heap and takes about 0.1 s.
// Package client works on raw FHIR JSON and does not import it, so only
// programs that import this package pay that cost.
//
// # Errors
//
// Errors wrap the sentinels of package client, for errors.Is: a body that
// is not a resource of the version wraps client.ErrUnexpectedResponse; a
// nil message, or one that cannot be marshalled, wraps
// client.ErrInvalidArgument (and nothing is sent); an unsupported version
// wraps client.ErrConfig. Errors of the request itself are those of
// client.Client.Read and client.Client.Create.
package typed
