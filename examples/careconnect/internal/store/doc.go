// Package store is the in-memory, versioned FHIR resource store behind the
// careconnect example server: create, read, vread, update, JSON Patch,
// delete, history and search, with every resource validated by
// google/fhir/go before it is stored, and transactions that apply all or
// nothing.
//
//	v, _ := store.NewValidator(fhirversion.STU3)
//	s, _ := store.New(v)
//	p, _ := s.Create("Patient", []byte(`{"resourceType":"Patient","gender":"female"}`), store.Precondition{})
//	q, _ := store.ParseQuery("Patient", url.Values{"gender": {"female"}})
//	page, _ := s.Search(q, nil)
//	fmt.Println(page.Total, page.Matches[0].ID == p.ID) // 1 true
//	_, _, err := s.Update("Patient", p.ID, []byte(`{"resourceType":"Patient","id":"`+p.ID+`","gender":"other"}`),
//		store.Precondition{IfMatch: 1})
//	_ = err                                          // nil: version 2 stored
//	_, err = s.Read("Observation", "missing")        // errors.Is(err, store.ErrNotFound)
//
// Search parameters are a fixed table (the Care Connect resources' common
// ones plus the patient-compartment references); unknown parameters are an
// error wrapping ErrBadSearch rather than being ignored, because an ignored
// filter returns more than was asked for.
package store
