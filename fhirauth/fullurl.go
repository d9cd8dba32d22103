package fhirauth

import (
	"net/url"
	"slices"
	"strings"
)

// replacedLinks are the fullUrls of a batch or transaction whose links the
// server replaces before it stores the entries' resources.
//
// FHIR's transaction rules (http.html#trules) have the server give a POST
// entry an id of its own (or, for a conditional create that matches, the
// id of the resource found), and replace every link in the Bundle that
// matches the entry's fullUrl: references and uri elements, written
// relative or absolute (a relative reference is resolved against its
// entry's fullUrl). An update's fullUrl stands likewise for the resource
// its request.url or its search selects. So "Patient/123" in one entry
// may be stored as a reference to a new Patient, to another existing
// one, or to an Observation, when another entry claims the fullUrl
// "Patient/123" (or "https://host/fhir/Patient/123"). Such a link cannot
// prove that a resource is in a patient's compartment, nor satisfy a
// scope constraint.
//
// Every entry with a fullUrl counts, except one that names the very
// resource its request.url names (a PUT of Patient/123 with the fullUrl
// "https://host/fhir/Patient/123"): its links are replaced by themselves.
// A batch counts too: FHIR has no links between batch entries, but a
// server that resolved them would store what a transaction stores.
// Links are compared by their "Type/id" whatever their base, version,
// query or letter case, so that every form a server could resolve to
// the fullUrl matches, and some it would not: failing closed. A link
// that holds a urn fullUrl anywhere inside it counts too: medplum
// replaces the first urn:uuid it finds in any string, wherever it is,
// so "urn:uuid:X2", where X stands for Patient/1, is stored as
// "Patient/12".
type replacedLinks struct {
	// links maps the lower-cased fullUrls and their "Type/id" keys to
	// whether a link replaced may then name a Patient.
	links map[string]bool
	// urnLens are the distinct lengths of the keys of links that are
	// urns, for finding one inside a longer link (containedURN).
	urnLens []int
}

// bundleReplaced returns the replaced links of the entries of a batch or
// transaction, nil when there are none.
func bundleReplaced(entries []*Request) *replacedLinks {
	var r *replacedLinks
	for _, e := range entries {
		if e == nil || e.FullURL == "" {
			continue
		}
		key := linkKey(e.FullURL)
		if namesOwnTarget(e, key) {
			continue
		}
		if r == nil {
			r = &replacedLinks{links: map[string]bool{}}
		}
		typ, _, _ := strings.Cut(key, "/")
		// The link becomes one to the entry's resource: a Patient when
		// the entry is about Patients, or when it is not about one type
		// (a system-level entry, an operation); and one written as a
		// Patient's loses the patient it named.
		patient := e.ResourceType == "Patient" || e.ResourceType == "" || e.Interaction == Operation || strings.EqualFold(typ, "Patient")
		for _, k := range [...]string{strings.ToLower(e.FullURL), strings.ToLower(key)} {
			r.links[k] = r.links[k] || patient
			if strings.HasPrefix(k, "urn:") && !slices.Contains(r.urnLens, len(k)) {
				r.urnLens = append(r.urnLens, len(k))
			}
		}
	}
	return r
}

// namesOwnTarget reports whether entry e, whose fullUrl has the key key,
// acts on exactly the resource its fullUrl names, by id.
func namesOwnTarget(e *Request, key string) bool {
	switch e.Interaction {
	case Read, VRead, HistoryInstance, Update, Patch, Delete:
	default:
		return false
	}
	return !e.Conditional && e.ResourceType != "" && e.ID != "" && key == e.ResourceType+"/"+e.ID
}

// lookup reports whether the link s (a reference or a uri) matches a
// replaced fullUrl, and whether, replaced, it may name a Patient.
func (r *replacedLinks) lookup(s string) (patient, ok bool) {
	if r == nil {
		return false, false
	}
	if p, ok := r.links[strings.ToLower(s)]; ok {
		return p, true
	}
	if p, ok := r.links[strings.ToLower(linkKey(s))]; ok {
		return p, true
	}
	return r.containedURN(s)
}

// containedURN reports whether a urn fullUrl of the Bundle occurs inside
// the link s (with ":" written as "%3A" or not), which a server that
// replaces placeholders within strings would replace there, and whether
// one that may then name a Patient does.
func (r *replacedLinks) containedURN(s string) (patient, ok bool) {
	if len(r.urnLens) == 0 || !hasFoldURN(s) {
		return false, false
	}
	n := strings.ReplaceAll(strings.ToLower(s), "%3a", ":")
	for i := strings.Index(n, "urn:"); i >= 0; {
		for _, l := range r.urnLens {
			if i+l <= len(n) {
				if p, found := r.links[n[i:i+l]]; found {
					patient, ok = patient || p, true
				}
			}
		}
		j := strings.Index(n[i+1:], "urn:")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return patient, ok
}

// hasFoldURN reports whether s has "urn" in any letter case: without it
// no urn can be inside s, which containedURN then says without
// allocating.
func hasFoldURN(s string) bool {
	for i := 0; i+3 <= len(s); i++ {
		if s[i]|0x20 == 'u' && s[i+1]|0x20 == 'r' && s[i+2]|0x20 == 'n' {
			return true
		}
	}
	return false
}

// replaced reports whether the link s is replaced by the server.
func (r *replacedLinks) replaced(s string) bool {
	_, ok := r.lookup(s)
	return ok
}

// mayBecomePatient reports whether the link s is replaced by the server
// with a link that may name a Patient, or that no longer names the one
// it names.
func (r *replacedLinks) mayBecomePatient(s string) bool {
	p, ok := r.lookup(s)
	return ok && p
}

// linkKey is what a link or fullUrl names, for comparing them: "Type/id"
// of a relative or absolute URL (without base, version, query, fragment
// or percent-encoding), or the link itself when it has no two path
// segments (a urn, a bare host).
func linkKey(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if strings.Contains(s, "%") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
	}
	path := s
	if i := strings.Index(s, "://"); i >= 0 {
		_, p, ok := strings.Cut(s[i+3:], "/")
		if !ok {
			return s
		}
		path = p
	} else if len(s) >= 4 && strings.EqualFold(s[:4], "urn:") {
		return s
	}
	path = strings.Trim(path, "/")
	id, rest := lastSegment(path)
	if v, r := lastSegment(rest); v == "_history" {
		id, rest = lastSegment(r)
	}
	typ, _ := lastSegment(rest)
	if typ == "" || id == "" {
		return s
	}
	return typ + "/" + id
}

// lastSegment splits the last "/"-separated segment off path.
func lastSegment(path string) (last, rest string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return path, ""
	}
	return path[i+1:], path[:i]
}

// replacedLink is the test of the links the server replaces in the
// Bundle the request is an entry of, nil outside Bundles and when none
// are: for constraintsHold.
func (e *evaluation) replacedLink() func(string) bool {
	if e.replaced == nil {
		return nil
	}
	return e.replaced.replaced
}
