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

// Readable implements fhirapi.Access: the store asks about each resource
// it would return (a read's resource, or each search result before
// counting and paging), which is the decision's CheckResult.
func (a decisionAccess) Readable(r *store.Resource) error {
	err := a.d.CheckResult(r.JSON)
	if err != nil && a.d.CheckStatus() == http.StatusNotFound {
		return fmt.Errorf("%w: %v", store.ErrNotFound, err)
	}
	return err
}

// Writable implements fhirapi.Access. When the policy hides existence, a
// refused stored version is reported as not found (the store then
// answers exactly as for a resource that does not exist), so a write
// cannot tell another patient's resource from a missing one.
func (a decisionAccess) Writable(r *store.Resource) error {
	if !a.d.NeedsStoredCheck() {
		return nil
	}
	var body []byte
	if r != nil {
		body = r.JSON
	}
	err := a.d.CheckStored(body)
	if err != nil && a.d.CheckStatus() == http.StatusNotFound {
		return hiddenError{err}
	}
	return err
}

// hiddenError is a check failure to be answered as "not found": it reads
// as the check's reason and matches store.ErrNotFound.
type hiddenError struct{ err error }

// Error returns the check's reason.
func (e hiddenError) Error() string { return e.err.Error() }

// Unwrap returns store.ErrNotFound and the check's error.
func (e hiddenError) Unwrap() []error { return []error{store.ErrNotFound, e.err} }

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
