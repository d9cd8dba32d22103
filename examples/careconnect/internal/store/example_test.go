package store_test

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/google/fhir/go/fhirversion"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

func Example() {
	v, err := store.NewValidator(fhirversion.STU3)
	if err != nil {
		panic(err)
	}
	s, _ := store.New(v)
	p, _ := s.Put("Patient", []byte(`{"resourceType":"Patient","id":"p1","gender":"female"}`))
	fmt.Println(p.Ref(), "version", p.VersionID())

	_, err = s.Create("Patient", []byte(`{"resourceType":"Patient","gender":"sometimes"}`), store.Precondition{})
	fmt.Println(errors.Is(err, store.ErrInvalid))

	q, _ := store.ParseQuery("Patient", url.Values{"gender": {"female"}})
	page, _ := s.Search(q, nil)
	fmt.Println(page.Total, page.Matches[0].ID)

	_, err = store.ParseQuery("Patient", url.Values{"favourite-colour": {"blue"}})
	fmt.Println(errors.Is(err, store.ErrBadSearch))
	// Output:
	// Patient/p1 version 1
	// true
	// 1 p1
	// true
}

func ExampleStore_Patch() {
	v, _ := store.NewValidator(fhirversion.R4)
	s, _ := store.New(v)
	_, _ = s.Put("Patient", []byte(`{"resourceType":"Patient","id":"p1","gender":"female"}`))
	r, err := s.Patch("Patient", "p1", []byte(`[{"op":"replace","path":"/gender","value":"other"}]`),
		store.Precondition{IfMatch: 1})
	fmt.Println(r.VersionID(), err)
	_, err = s.Patch("Patient", "p1", []byte(`[{"op":"replace","path":"/gender","value":"male"}]`),
		store.Precondition{IfMatch: 1})
	fmt.Println(errors.Is(err, store.ErrVersionConflict))
	// Output:
	// 2 <nil>
	// true
}

func ExampleStore_Atomic() {
	v, _ := store.NewValidator(fhirversion.STU3)
	s, _ := store.New(v)
	err := s.Atomic(func(ops store.Ops) error {
		if _, err := ops.Create("Patient", []byte(`{"resourceType":"Patient"}`), store.Precondition{}); err != nil {
			return err
		}
		_, err := ops.Create("Patient", []byte(`{"resourceType":"Patient","birthDate":"yesterday"}`), store.Precondition{})
		return err // invalid: the first create is undone too
	})
	q, _ := store.ParseQuery("Patient", nil)
	page, _ := s.Search(q, nil)
	fmt.Println(errors.Is(err, store.ErrInvalid), page.Total)
	// Output: true 0
}
