package main

import (
	"bytes"
	"encoding/json"
	"slices"
)

// rewriteBundle applies fn to the URLs of a Bundle that name the server:
// link[].url, entry[].fullUrl, entry[].response.location, recursively for
// Bundles inside entries (search results inside a batch response). Other
// JSON is returned untouched. It reports whether anything changed; a body
// that is not a JSON Bundle is never changed.
func rewriteBundle(body []byte, fn func(string) string) ([]byte, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || !isBundle(top) {
		return body, false
	}
	changed := false
	if raw, ok := top["link"]; ok {
		var links []map[string]json.RawMessage
		if json.Unmarshal(raw, &links) == nil {
			c := false
			for _, l := range links {
				c = rewriteString(l, "url", fn) || c
			}
			if c {
				top["link"], changed = mustMarshal(links), true
			}
		}
	}
	if raw, ok := top["entry"]; ok {
		var entries []map[string]json.RawMessage
		if json.Unmarshal(raw, &entries) == nil {
			c := false
			for _, e := range entries {
				c = rewriteString(e, "fullUrl", fn) || c
				if res, ok := e["resource"]; ok {
					if out, ch := rewriteBundle(res, fn); ch {
						e["resource"], c = out, true
					}
				}
				if raw, ok := e["response"]; ok {
					var resp map[string]json.RawMessage
					if json.Unmarshal(raw, &resp) == nil && rewriteString(resp, "location", fn) {
						e["response"], c = encodeObject(resp), true
					}
				}
			}
			if c {
				top["entry"], changed = mustMarshal(entries), true
			}
		}
	}
	if !changed {
		return body, false
	}
	return encodeObject(top), true
}

func isBundle(top map[string]json.RawMessage) bool {
	var rt string
	return json.Unmarshal(top["resourceType"], &rt) == nil && rt == "Bundle"
}

// rewriteString applies fn to the string member key of m.
func rewriteString(m map[string]json.RawMessage, key string, fn func(string) string) bool {
	raw, ok := m[key]
	if !ok {
		return false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	n := fn(s)
	if n == s {
		return false
	}
	m[key] = mustMarshal(n)
	return true
}

// mustMarshal encodes values that always encode (strings, maps of raw
// JSON that was valid when decoded).
func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("gateway: " + err.Error())
	}
	return b
}

// encodeObject writes an object with resourceType first, the other members
// sorted (encoding/json would sort resourceType in among them).
func encodeObject(m map[string]json.RawMessage) json.RawMessage {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "resourceType" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := m["resourceType"]; ok {
		keys = append([]string{"resourceType"}, keys...)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(mustMarshal(k))
		b.WriteByte(':')
		b.Write(m[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}
