package fhirapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// Access is what an authorization decision lets one request touch. The
// handler honours it natively: search results are filtered inside the
// store's query (before counting and paging, so totals and pages only ever
// reflect visible resources), single reads are checked before they are
// returned, and writes are checked against both the stored version and the
// version about to be written.
type Access interface {
	// Readable returns nil when r may be returned to the caller. An error
	// wrapping store.ErrNotFound answers 404 (existence hiding); any other
	// error answers 403 with the error as the reason.
	Readable(r *store.Resource) error
	// Writable returns nil when r may be written: r is the stored version
	// about to be replaced, patched or deleted, or nil when an update would
	// create the resource, or the new version about to be stored.
	Writable(r *store.Resource) error
}

// AccessFunc returns the Access of a request; a nil Access means the
// request is unrestricted (the middleware already decided it). An error
// refuses the request with 403. For the entries of a batch or transaction
// it is called once per entry, with a request whose context carries the
// entry's position (see EntryOf).
type AccessFunc func(r *http.Request) (Access, error)

type entryKey struct{}

type entryPos struct{ index, count int }

// EntryOf returns the index of the Bundle entry a sub-request was built
// from and the number of entries in that Bundle, when the request is one
// entry of a batch or transaction.
func EntryOf(ctx context.Context) (index, count int, ok bool) {
	p, ok := ctx.Value(entryKey{}).(entryPos)
	return p.index, p.count, ok
}

func withEntry(ctx context.Context, i, n int) context.Context {
	return context.WithValue(ctx, entryKey{}, entryPos{i, n})
}

// precondition turns an Access into store write checks.
func precondition(a Access, ifMatch int) store.Precondition {
	pre := store.Precondition{IfMatch: ifMatch}
	if a != nil {
		pre.Stored = a.Writable
		pre.Result = a.Writable
	}
	return pre
}

// visible turns an Access into the store's search filter.
func visible(a Access) func(*store.Resource) bool {
	if a == nil {
		return nil
	}
	return func(r *store.Resource) bool { return a.Readable(r) == nil }
}

// errHidden is returned for a read the Access hides as not found.
var errHidden = errors.New("fhirapi: hidden")
