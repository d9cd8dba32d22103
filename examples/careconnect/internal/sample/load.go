package sample

import (
	"fmt"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// Load validates and stores the sample resources for the store's FHIR
// version.
func Load(s *store.Store) error {
	rs, err := Resources(s.Validator().Version())
	if err != nil {
		return err
	}
	for _, r := range rs {
		if _, err := s.Put(r.Type, r.JSON); err != nil {
			return fmt.Errorf("sample: load %s/%s: %w", r.Type, r.ID, err)
		}
	}
	return nil
}
