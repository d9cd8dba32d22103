package fhirapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
)

// denied answers a refused read: 404 when the Access hides existence, 403
// otherwise.
func denied(err error) response {
	if errors.Is(err, store.ErrNotFound) {
		return failure(http.StatusNotFound, "not-found", "resource not found")
	}
	return failure(http.StatusForbidden, "forbidden", err.Error())
}

func (h *Handler) readable(req request, r *store.Resource) error {
	if req.access == nil {
		return nil
	}
	return req.access.Readable(r)
}

func (h *Handler) location(req request, r *store.Resource) string {
	return req.base + "/" + r.Type + "/" + r.ID + "/_history/" + r.VersionID()
}

func (h *Handler) read(req request, ops store.Ops, typ, id string) response {
	r, err := ops.Read(typ, id)
	if err != nil {
		return fromError(err)
	}
	if err := h.readable(req, r); err != nil {
		return denied(err)
	}
	return response{status: http.StatusOK, body: r.JSON, resource: r}
}

func (h *Handler) vread(req request, ops store.Ops, typ, id string, version int) response {
	r, err := ops.VRead(typ, id, version)
	if err != nil {
		return fromError(err)
	}
	if err := h.readable(req, r); err != nil {
		return denied(err)
	}
	return response{status: http.StatusOK, body: r.JSON, resource: r}
}

func (h *Handler) create(req request, ops store.Ops, typ string) response {
	if bad := checkContentType(req, jsonTypes...); bad != nil {
		return *bad
	}
	if cond := req.header.Get("If-None-Exist"); cond != "" {
		existing, resp, ok := h.matchOne(req, ops, typ, cond)
		if !ok {
			return resp
		}
		if existing != nil {
			return response{status: http.StatusOK, body: existing.JSON, resource: existing, location: h.location(req, existing)}
		}
	}
	r, err := ops.Create(typ, req.body, precondition(req.access, 0))
	if err != nil {
		return fromError(err)
	}
	return prefer(req, response{status: http.StatusCreated, body: r.JSON, resource: r, location: h.location(req, r)})
}

// matchOne runs a conditional search: (nil, _, true) when nothing matches,
// (r, _, true) for exactly one visible match, and a 412/400 response
// otherwise.
func (h *Handler) matchOne(req request, ops store.Ops, typ, rawQuery string) (*store.Resource, response, bool) {
	v, err := url.ParseQuery(rawQuery)
	if err != nil || len(v) == 0 {
		return nil, failure(http.StatusBadRequest, "invalid", fmt.Sprintf("condition %q is not a search query", rawQuery)), false
	}
	q, err := store.ParseQuery(typ, v)
	if err != nil {
		return nil, fromError(err), false
	}
	q.Count, q.Offset = 2, 0
	page, err := ops.Search(q, visible(req.access))
	if err != nil {
		return nil, fromError(err), false
	}
	switch page.Total {
	case 0:
		return nil, response{}, true
	case 1:
		return page.Matches[0], response{}, true
	}
	return nil, fromError(fmt.Errorf("%w: condition %q matched %d resources", store.ErrMultipleMatches, rawQuery, page.Total)), false
}

func (h *Handler) ifMatch(req request) (int, *response) {
	v := req.header.Get("If-Match")
	if v == "" {
		return 0, nil
	}
	n, err := parseETag(v)
	if err != nil {
		r := failure(http.StatusBadRequest, "invalid", err.Error())
		return 0, &r
	}
	return n, nil
}

func (h *Handler) update(req request, ops store.Ops, typ, id string) response {
	if bad := checkContentType(req, jsonTypes...); bad != nil {
		return *bad
	}
	version, bad := h.ifMatch(req)
	if bad != nil {
		return *bad
	}
	r, created, err := ops.Update(typ, id, req.body, precondition(req.access, version))
	if err != nil {
		return fromError(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return prefer(req, response{status: status, body: r.JSON, resource: r, location: h.location(req, r)})
}

func (h *Handler) conditionalUpdate(req request, ops store.Ops, typ string) response {
	if bad := checkContentType(req, jsonTypes...); bad != nil {
		return *bad
	}
	if len(req.query) == 0 {
		return failure(http.StatusBadRequest, "invalid", "PUT on a type needs search parameters (conditional update) or an id")
	}
	existing, resp, ok := h.matchOne(req, ops, typ, req.query.Encode())
	if !ok {
		return resp
	}
	if existing == nil {
		return h.create(req, ops, typ)
	}
	body, err := withID(req.body, existing.ID)
	if err != nil {
		return fromError(err)
	}
	req.body = body
	return h.update(req, ops, typ, existing.ID)
}

// withID sets the id of a resource body unless it has one (a different one
// is then rejected by the update as a mismatch).
func withID(body []byte, id string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, fmt.Errorf("%w: not a JSON object", store.ErrInvalid)
	}
	if _, ok := doc["id"]; ok {
		return body, nil
	}
	doc["id"] = id
	return json.Marshal(doc)
}

func (h *Handler) patch(req request, ops store.Ops, typ, id string) response {
	if bad := checkContentType(req, "application/json-patch+json"); bad != nil {
		return *bad
	}
	version, bad := h.ifMatch(req)
	if bad != nil {
		return *bad
	}
	r, err := ops.Patch(typ, id, req.body, precondition(req.access, version))
	if err != nil {
		return fromError(err)
	}
	return prefer(req, response{status: http.StatusOK, body: r.JSON, resource: r, location: h.location(req, r)})
}

func (h *Handler) delete(req request, ops store.Ops, typ, id string) response {
	version, bad := h.ifMatch(req)
	if bad != nil {
		return *bad
	}
	r, err := ops.Delete(typ, id, precondition(req.access, version))
	if err != nil {
		return fromError(err)
	}
	return response{status: http.StatusNoContent, resource: r}
}

func (h *Handler) conditionalDelete(req request, ops store.Ops, typ string) response {
	if len(req.query) == 0 {
		return failure(http.StatusBadRequest, "invalid", "DELETE on a type needs search parameters (conditional delete)")
	}
	existing, resp, ok := h.matchOne(req, ops, typ, req.query.Encode())
	if !ok {
		return resp
	}
	if existing == nil {
		return response{status: http.StatusNoContent}
	}
	return h.delete(req, ops, typ, existing.ID)
}

// history answers an instance history as fhirauth's CheckResponse would
// answer it: a history with a content version the caller may not read is
// withheld as a whole (404 like a missing resource under existence
// hiding, 403 otherwise), for a partial history would tell that the
// resource has versions outside the caller's access (a resource moved
// into or out of the patient's compartment). Deletion records hold no
// content and are shown here (fhirauth's Bundle filter, which the
// middleware still applies to this answer, is stricter and counts them as
// withheld). careconnect serves no type or system history, which fhirauth
// filters entry by entry (and refuses under patient context).
func (h *Handler) history(req request, ops store.Ops, typ, id string) response {
	versions, err := ops.History(typ, id)
	if err != nil {
		return fromError(err)
	}
	for _, v := range versions {
		if v.Deleted {
			continue
		}
		if err := h.readable(req, v); err != nil {
			return denied(err)
		}
	}
	return response{status: http.StatusOK, body: historyBundle(req, versions)}
}
