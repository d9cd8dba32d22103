// Package sample is the careconnect example's sample data: three patients
// with valid NHS numbers and, for each, resources of the nine Care Connect
// types, shaped like the Care Connect STU3 profiles (or the UK Core R4
// profiles when the server runs R4).
//
//	v, _ := store.NewValidator(fhirversion.STU3)
//	s, _ := store.New(v)
//	if err := sample.Load(s); err != nil { // validates every resource
//		log.Fatal(err)
//	}
//	p, _ := s.Read("Patient", sample.Patients()[0].ID)
//	fmt.Println(string(p.JSON))
//	fmt.Println(sample.ValidNHSNumber("9990000018")) // true
//	fmt.Println(sample.CareConnectTypes)             // the nine types
//	_ = p
package sample
