package naivefhir

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DefaultCount is the page size when a search has no _count.
const DefaultCount = 50

// search answers a type search with a searchset Bundle. It knows _id,
// patient, subject, performer, category, code, _count, _offset, _include
// and _revinclude; every other parameter is silently ignored (naive!).
func (s *Server) search(typ string, q url.Values, base, rel string) json.RawMessage {
	s.mu.Lock()
	ids := make([]string, 0, len(s.resources[typ]))
	for id := range s.resources[typ] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var matches []json.RawMessage
	for _, id := range ids {
		res := s.resources[typ][id]
		if matchesAll(typ, id, res, q) {
			matches = append(matches, res)
		}
	}
	s.mu.Unlock()

	count, offset := DefaultCount, 0
	if n, err := strconv.Atoi(q.Get("_count")); err == nil && n >= 0 {
		count = n
	}
	if n, err := strconv.Atoi(q.Get("_offset")); err == nil && n >= 0 {
		offset = n
	}
	page := matches[min(offset, len(matches)):min(offset+count, len(matches))]

	var entries []any
	seen := map[string]bool{}
	for _, res := range page {
		t, id := header(res)
		seen[t+"/"+id] = true
		entries = append(entries, entry(base, t, id, res, "match"))
	}
	for _, inc := range q["_include"] {
		for _, res := range page {
			for _, ref := range s.includes(res, inc) {
				if seen[ref] {
					continue
				}
				t, id, _ := strings.Cut(ref, "/")
				if r, ok := s.Get(t, id); ok {
					seen[ref] = true
					entries = append(entries, entry(base, t, id, r, "include"))
				}
			}
		}
	}
	for _, rev := range q["_revinclude"] {
		for _, r := range s.revincludes(page, rev) {
			t, id := header(r)
			if !seen[t+"/"+id] {
				seen[t+"/"+id] = true
				entries = append(entries, entry(base, t, id, r, "include"))
			}
		}
	}
	links := []any{map[string]any{"relation": "self", "url": base + "/" + rel + encodeQuery(q)}}
	if offset+count < len(matches) && count > 0 {
		next := cloneValues(q)
		next.Set("_offset", strconv.Itoa(offset+count))
		next.Set("_count", strconv.Itoa(count))
		links = append(links, map[string]any{"relation": "next", "url": base + "/" + rel + encodeQuery(next)})
	}
	res := map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(matches), "link": links}
	if len(entries) > 0 {
		res["entry"] = entries // FHIR JSON has no empty arrays (and no nulls)
	}
	b, _ := json.Marshal(res)
	return b
}

func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func entry(base, typ, id string, res json.RawMessage, mode string) map[string]any {
	return map[string]any{"fullUrl": base + "/" + typ + "/" + id, "resource": res, "search": map[string]any{"mode": mode}}
}

func header(res json.RawMessage) (string, string) {
	var h struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	_ = json.Unmarshal(res, &h)
	return h.ResourceType, h.ID
}

// matchesAll applies the parameters the server knows (AND across
// parameters, OR across comma-separated values).
func matchesAll(typ, id string, res json.RawMessage, q url.Values) bool {
	var m map[string]any
	if json.Unmarshal(res, &m) != nil {
		return false
	}
	for key, vals := range q {
		for _, v := range vals {
			ok := false
			for _, alt := range strings.Split(v, ",") {
				if matchOne(typ, id, m, key, alt) {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
		}
	}
	return true
}

func matchOne(typ, id string, m map[string]any, key, v string) bool {
	switch key {
	case "_id":
		return id == v
	case "patient":
		if typ == "Patient" {
			return id == v || "Patient/"+id == v
		}
		return refIn(m["subject"], v, "Patient") || refIn(m["patient"], v, "Patient")
	case "subject":
		return refIn(m["subject"], v, "Patient")
	case "performer":
		return refIn(m["performer"], v, "")
	case "category":
		return codeIn(m["category"], v)
	case "code":
		return codeIn(m["code"], v)
	}
	return true // unknown parameters (and _count, _include, ...) are ignored
}

// refIn reports whether an element holds a reference to v ("Type/id", or a
// bare id of defType).
func refIn(el any, v, defType string) bool {
	for _, ref := range references(el) {
		if ref == v || (defType != "" && ref == defType+"/"+v) {
			return true
		}
	}
	return false
}

// references collects every "reference" string inside el.
func references(el any) []string {
	var out []string
	switch x := el.(type) {
	case map[string]any:
		if r, ok := x["reference"].(string); ok {
			out = append(out, r)
		}
		for k, v := range x {
			if k != "reference" {
				out = append(out, references(v)...)
			}
		}
	case []any:
		for _, v := range x {
			out = append(out, references(v)...)
		}
	}
	return out
}

// codeIn reports whether a CodeableConcept (or a list of them) has a
// coding with code v ("system|code" and "|code" accepted).
func codeIn(el any, v string) bool {
	if i := strings.LastIndexByte(v, '|'); i >= 0 {
		v = v[i+1:]
	}
	switch x := el.(type) {
	case []any:
		for _, c := range x {
			if codeIn(c, v) {
				return true
			}
		}
	case map[string]any:
		codings, _ := x["coding"].([]any)
		for _, c := range codings {
			if cm, ok := c.(map[string]any); ok && cm["code"] == v {
				return true
			}
		}
	}
	return false
}

// includes resolves _include=Type:param[:Target] for one resource.
func (s *Server) includes(res json.RawMessage, inc string) []string {
	parts := strings.Split(inc, ":")
	t, _ := header(res)
	if len(parts) < 2 || (parts[0] != t && parts[0] != "*") {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(res, &m) != nil {
		return nil
	}
	var out []string
	for _, ref := range references(m[element(parts[1])]) {
		if len(parts) == 3 && !strings.HasPrefix(ref, parts[2]+"/") {
			continue
		}
		out = append(out, ref)
	}
	return out
}

// revincludes resolves _revinclude=Type:param for the matched resources.
func (s *Server) revincludes(page []json.RawMessage, rev string) []json.RawMessage {
	parts := strings.Split(rev, ":")
	if len(parts) < 2 {
		return nil
	}
	targets := map[string]bool{}
	for _, res := range page {
		t, id := header(res)
		targets[t+"/"+id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.resources[parts[0]]))
	for id := range s.resources[parts[0]] {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []json.RawMessage
	for _, id := range ids {
		res := s.resources[parts[0]][id]
		var m map[string]any
		if json.Unmarshal(res, &m) != nil {
			continue
		}
		for _, ref := range references(m[element(parts[1])]) {
			if targets[ref] {
				out = append(out, res)
				break
			}
		}
	}
	return out
}

// bundle performs a batch or transaction, entry by entry (no atomicity:
// naive).
func (s *Server) bundle(body []byte, base string) (int, json.RawMessage) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" {
		return http.StatusBadRequest, outcome("invalid", "not a Bundle")
	}
	var entries []any
	for _, e := range b.Entry {
		path, query, _ := strings.Cut(e.Request.URL, "?")
		q, _ := url.ParseQuery(query)
		status, res := s.do(e.Request.Method, strings.TrimPrefix(path, "/"), q, e.Resource, base)
		resp := map[string]any{"status": strconv.Itoa(status) + " " + http.StatusText(status)}
		out := map[string]any{"response": resp}
		if status >= 400 {
			resp["outcome"] = res
		} else if res != nil {
			out["resource"] = res
		}
		entries = append(entries, out)
	}
	resp := map[string]any{"resourceType": "Bundle", "type": b.Type + "-response"}
	if len(entries) > 0 {
		resp["entry"] = entries
	}
	out, _ := json.Marshal(resp)
	return http.StatusOK, out
}

// element maps a search parameter name to the element it searches (the
// parameter name itself unless listed).
func element(param string) string {
	switch param {
	case "organization":
		return "managingOrganization"
	case "general-practitioner":
		return "generalPractitioner"
	}
	return param
}
