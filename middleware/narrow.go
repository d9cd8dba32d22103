package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// errBodyNotNarrowable refuses a POSTed operation whose Parameters body
// the middleware would have to narrow.
var errBodyNotNarrowable = errors.New("the parameters of this operation are in a Parameters body, which cannot be narrowed to what the token may see; send them in the query string (GET) instead")

// narrowRequest applies the decision's narrowing to r, which is the
// middleware's own shallow copy of the incoming request (its URL is cloned
// before it is changed): the query string of a search, conditional update,
// patch or delete; the form body of POST _search as well; the
// If-None-Exist header of a conditional create. Decisions with response
// checks are applied even without narrowing parameters, because ApplyTo
// then also removes _elements and forces a JSON _format so the checked
// response still has what the check reads. Nothing is done (and nothing
// allocated) when the decision needs neither.
func narrowRequest(r *http.Request, req *fhirauth.Request, d *fhirauth.Decision, maxBody int64) error {
	if d.Narrow == nil && !d.NeedsResponseCheck() {
		return nil
	}
	if req == nil || isBundle(req) {
		return nil // bundle entries are narrowed one by one (bundle.go)
	}
	if req.Interaction == fhirauth.Create {
		if !req.Conditional {
			return nil
		}
		ine, err := url.ParseQuery(r.Header.Get("If-None-Exist"))
		if err != nil {
			return fmt.Errorf("If-None-Exist: %w", err)
		}
		h := r.Header.Clone()
		h.Set("If-None-Exist", d.ApplyTo(ine).Encode())
		r.Header = h
		return nil
	}
	if req.Interaction == fhirauth.Operation && len(req.Body) > 0 && d.Narrow != nil {
		// The operation's parameters are in a Parameters body, which many
		// servers read instead of the query (HAPI does for POST): a
		// narrowing parameter added to the query would be ignored, and
		// one added to the body might be read as an alternative.
		return errBodyNotNarrowable
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	u := *r.URL
	u.RawQuery = d.ApplyTo(q).Encode()
	r.URL = &u
	r.RequestURI = u.RequestURI()
	if r.Method == http.MethodPost && req.Interaction.IsSearch() && isFormPost(r) {
		body, ok := readBody(r, maxBody)
		if !ok {
			return errors.New("the form body is too large or unreadable")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fmt.Errorf("form body: %w", err)
		}
		setBody(r, []byte(d.ApplyTo(form).Encode()))
	}
	return nil
}
