package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// errBodyNotNarrowable refuses a POSTed operation whose Parameters body
// the middleware would have to narrow.
var errBodyNotNarrowable = errors.New("the parameters of this operation are in a Parameters body, which cannot be narrowed to what the token may see; send them in the query string (GET) instead")

// narrowRequest applies the decision's narrowing to r, which is the
// middleware's own shallow copy of the incoming request (its URL is
// copied before it is changed): the query string of a search,
// conditional update, patch or delete; the form body of POST _search as
// well (written even when the client sent none); the If-None-Exist
// header of a conditional create. Decisions with response checks are
// applied even without narrowing parameters, because ApplyTo then also
// removes _elements and _summary and forces a JSON _format so the checked response
// still has what the check reads. Nothing is done (and nothing
// allocated) when the decision needs neither, except that an
// If-None-Exist that is not a plain query is always written as the
// parameters fhirauth judged (see narrowIfNoneExist).
func narrowRequest(r *http.Request, req *fhirauth.Request, d *fhirauth.Decision, maxBody int64) error {
	if req != nil && req.Interaction == fhirauth.Create && req.Conditional && !isBundle(req) {
		if d.Narrow == nil && !d.NeedsResponseCheck() && plainQuery(r.Header.Get("If-None-Exist")) {
			return nil // the server reads what fhirauth parsed
		}
		return narrowIfNoneExist(r, req, d)
	}
	if d.Narrow == nil && !d.NeedsResponseCheck() {
		return nil
	}
	if req == nil || isBundle(req) {
		return nil // bundle entries are narrowed one by one (bundle.go)
	}
	if req.Interaction == fhirauth.Create {
		return nil // not conditional: no query to narrow
	}
	if req.Interaction == fhirauth.Operation && len(req.Body) > 0 && d.Narrow != nil {
		// The operation's parameters are in a Parameters body, which many
		// servers read instead of the query (HAPI does for POST): a
		// narrowing parameter added to the query would be ignored, and
		// one added to the body might be read as an alternative.
		return errBodyNotNarrowable
	}
	if r.URL.RawQuery == "" && len(d.Narrow) == 0 {
		return nil // nothing to add, nothing to remove (a read by id)
	}
	return rewriteQuery(r, req, d, maxBody)
}

// narrowedQuery returns the query raw of a request (or Bundle entry)
// with method, which fhirauth parsed into params, with d applied.
func narrowedQuery(method, raw string, params url.Values, d *fhirauth.Decision) (string, error) {
	if method != http.MethodGet {
		// params may hold more than the query (the form body of POST
		// _search): apply d to the query alone.
		q, err := url.ParseQuery(raw)
		if err != nil {
			return "", fmt.Errorf("query: %w", err)
		}
		return d.ApplyTo(q).Encode(), nil
	}
	if plainQuery(raw) && !d.ChangesQuery(params) {
		// The query already holds every narrowing value (a patient app
		// asking for its own patient) and nothing to remove, and it is
		// written so plainly that any server reads from it the very
		// parameters fhirauth parsed into params and judged: pass it on
		// as sent rather than re-encode the same thing.
		return raw, nil
	}
	// fhirauth parsed this very query into params (a GET has no body to
	// merge): copy it rather than parse it again. The copy's slices are
	// clipped so that ApplyTo's appends never write into the arrays
	// params shares.
	q := make(url.Values, len(params)+len(d.Narrow))
	for k, vs := range params {
		q[k] = vs[:len(vs):len(vs)]
	}
	return d.ApplyTo(q).Encode(), nil
}

// narrowIfNoneExist applies d to the If-None-Exist query of a conditional
// create. It starts from the parameters fhirauth parsed and judged
// (req.IfNoneExist), not from the header again: fhirauth reads "?query",
// "Type?query" and "http://host/base/Type?query" (HAPI's Java client) as
// the query, which a server reading the header as a query would read as
// a parameter named "?code" or "Observation?code", and refuse, or ignore
// as unknown, matching on fewer criteria than were judged. So the header
// is rewritten even when d narrows nothing.
func narrowIfNoneExist(r *http.Request, req *fhirauth.Request, d *fhirauth.Decision) error {
	if len(req.IfNoneExist) == 0 {
		return errors.New("If-None-Exist: no parameters classified")
	}
	ine := make(url.Values, len(req.IfNoneExist)+len(d.Narrow))
	for k, vs := range req.IfNoneExist {
		ine[k] = vs[:len(vs):len(vs)] // ApplyTo's appends copy
	}
	h := r.Header.Clone()
	h.Set("If-None-Exist", d.ApplyTo(ine).Encode())
	r.Header = h
	return nil
}

// rewriteQuery is narrowRequest's rewrite of the query (and of a POST
// search's form body).
func rewriteQuery(r *http.Request, req *fhirauth.Request, d *fhirauth.Decision, maxBody int64) error {
	query, err := narrowedQuery(r.Method, r.URL.RawQuery, req.Params, d)
	if err != nil {
		return err
	}
	if query == r.URL.RawQuery && r.Method == http.MethodGet {
		return nil // nothing changes
	}
	u := new(url.URL)
	*u = *r.URL
	u.RawQuery = query
	r.URL = u
	r.RequestURI = u.RequestURI()
	if r.Method == http.MethodPost && req.Interaction.IsSearch() {
		return narrowForm(r, d, maxBody)
	}
	return nil
}

// narrowForm applies d to the form body of a POST search, and writes it
// even when the client sent no body, or an empty one of another type
// (fhirauth refuses a body that is not a form): some servers (medplum)
// search with the form body alone and drop the URL's query, so a
// narrowing added to the query only would not narrow there.
func narrowForm(r *http.Request, d *fhirauth.Decision, maxBody int64) error {
	form := url.Values{}
	if isFormPost(r) {
		body, ok := readBody(r, maxBody)
		if !ok {
			return errors.New("the form body is too large or unreadable")
		}
		var err error
		if form, err = url.ParseQuery(string(body)); err != nil {
			return fmt.Errorf("form body: %w", err)
		}
	} else {
		r.Header = r.Header.Clone()
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	setBody(r, []byte(d.ApplyTo(form).Encode()))
	return nil
}

// plainQuery reports whether raw is written so plainly that every query
// parser reads the same parameters from it: items joined by single "&",
// each a non-empty name, exactly one "=" and a value, using only letters,
// digits and "-._~:/|,*". Nothing is left to unescape (no "%", no "+",
// which parsers decode differently or twice), no ";" (a separator to some
// servers), no item without "=" or with a second one, no empty item.
func plainQuery(raw string) bool {
	item, eq := 0, 0 // length of the current item and its "=" count
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '&':
			if eq != 1 || item == 0 {
				return false
			}
			item, eq = 0, 0
			continue
		case c == '=':
			if item == 0 {
				return false // no name
			}
			eq++
		case !plainQueryByte[c]:
			return false
		}
		item++
	}
	return raw == "" || eq == 1
}

// plainQueryByte marks the bytes plainQuery accepts in names and values.
var plainQueryByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = queryUnreserved[c] || strings.IndexByte(":/|,*", byte(c)) >= 0
	}
	return t
}()

// queryUnreserved marks the bytes url.QueryEscape leaves as they are.
var queryUnreserved = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
	}
	return t
}()
