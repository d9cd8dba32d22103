package server

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/fhirapi"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/middleware"
)

// decisionAccess makes the store honour a fhirauth Decision natively:
// response checks become the store's search filter and read checks
// (applied before counting and paging), stored-version checks run inside
// the store's write lock against the version actually replaced, and the
// same check guards the version about to be written (a patch cannot move a
// resource out of the caller's compartment).
type decisionAccess struct{ d *fhirauth.Decision }

// Readable implements fhirapi.Access.
func (a decisionAccess) Readable(r *store.Resource) error {
	d := a.d
	if !d.NeedsResponseCheck() {
		return nil
	}
	var err error
	if d.ResponseIsBundle() {
		// A search, history or $everything decision checks Bundle entries;
		// check this resource as a one-entry Bundle.
		one := make([]byte, 0, len(r.JSON)+48)
		one = append(one, `{"resourceType":"Bundle","entry":[{"resource":`...)
		one = append(one, r.JSON...)
		one = append(one, `}]}`...)
		var removed int
		if _, removed, err = d.FilterBundle(one); err == nil && removed > 0 {
			err = fmt.Errorf("%w: %s/%s is not visible to this token", fhirauth.ErrConstraint, r.Type, r.ID)
		}
	} else {
		err = d.CheckResource(r.JSON)
	}
	if err != nil && d.CheckStatus() == http.StatusNotFound {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

// Writable implements fhirapi.Access.
func (a decisionAccess) Writable(r *store.Resource) error {
	if !a.d.NeedsStoredCheck() {
		return nil
	}
	var body []byte
	if r != nil {
		body = r.JSON
	}
	return a.d.CheckStored(body)
}

// accessFor returns the fhirapi.AccessFunc that reads the middleware's
// Decision from the request context. Without a Decision only the public
// capabilities endpoint may be served; anything else is refused (the
// handler is never reachable around the middleware, but fail closed if it
// is).
func accessFor(basePath string) fhirapi.AccessFunc {
	return func(r *http.Request) (fhirapi.Access, error) {
		d := middleware.DecisionFrom(r.Context())
		if d == nil {
			if r.Method == http.MethodGet && r.URL.EscapedPath() == basePath+"/metadata" {
				return nil, nil
			}
			return nil, errors.New("no authorization decision for this request")
		}
		if i, n, ok := fhirapi.EntryOf(r.Context()); ok {
			// The middleware forwards only the allowed entries of a batch,
			// in order: the i-th forwarded entry is the i-th allowed one.
			var allowed []*fhirauth.Decision
			for _, e := range d.Entries {
				if e.Allowed {
					allowed = append(allowed, e)
				}
			}
			if len(allowed) != n || i < 0 || i >= n {
				return nil, fmt.Errorf("bundle entry %d of %d does not match the authorization decision (%d allowed entries)", i, n, len(allowed))
			}
			d = allowed[i]
		}
		if !d.Allowed {
			return nil, fmt.Errorf("denied: %s", d.Reason)
		}
		return decisionAccess{d}, nil
	}
}
