package middleware

// The implementations of strictObject, isOperationOutcome and
// sanitizeBundle before the one-pass reader (jsonscan.go), built on
// encoding/json's Decoder: the reference the fuzz tests hold the fast ones
// to.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

func refStrictObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("middleware: not a JSON object")
	}
	members := make(map[string]json.RawMessage)
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("middleware: malformed JSON object")
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		fk := foldKey(key)
		if _, dup := seen[fk]; dup {
			return nil, errAmbiguousObject
		}
		seen[fk] = struct{}{}
		members[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("middleware: data after the JSON object")
	}
	return members, nil
}

func refIsOperationOutcome(body []byte) bool {
	m, err := refStrictObject(body)
	if err != nil {
		return false
	}
	rt, _ := stringMember(m, "resourceType")
	_, contained := m["contained"]
	return rt == "OperationOutcome" && !contained
}

func refSanitizeBundle(body []byte) ([]byte, int, error) {
	top, err := refStrictObject(body)
	if err != nil {
		return nil, 0, errNotBundle
	}
	if rt, _ := stringMember(top, "resourceType"); rt != "Bundle" {
		return nil, 0, errNotBundle
	}
	keepOnly(top, bundleMembers)
	removed := 0
	if raw, ok := top["entry"]; ok {
		var entries []json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, 0, errNotBundle
		}
		kept := entries[:0]
		for _, e := range entries {
			clean, ok := refSanitizeEntry(e)
			if !ok {
				removed++
				continue
			}
			kept = append(kept, clean)
		}
		if len(kept) == 0 {
			delete(top, "entry")
		} else if top["entry"], err = json.Marshal(kept); err != nil {
			return nil, 0, err
		}
	}
	out, err := marshalObject(top, "resourceType")
	return out, removed, err
}

func refSanitizeEntry(raw json.RawMessage) (json.RawMessage, bool) {
	e, err := refStrictObject(raw)
	if err != nil {
		return nil, false
	}
	keepOnly(e, entryMembers)
	if res, ok := e["resource"]; ok && !isNull(res) {
		m, err := refStrictObject(res)
		if err != nil {
			return nil, false
		}
		if rt, _ := stringMember(m, "resourceType"); rt == "OperationOutcome" && !refIsOperationOutcome(res) {
			return nil, false // an OperationOutcome entry passes the check unread: no contained resources
		}
	}
	if resp, ok := e["response"]; ok {
		clean, ok := refSanitizeResponse(resp)
		if !ok {
			return nil, false
		}
		e["response"] = clean
	}
	out, err := marshalObject(e, "")
	if err != nil {
		return nil, false
	}
	return out, true
}

func refSanitizeResponse(raw json.RawMessage) (json.RawMessage, bool) {
	r, err := refStrictObject(raw)
	if err != nil {
		return nil, false
	}
	keepOnly(r, responseMembers)
	if oc, ok := r["outcome"]; ok && !isNull(oc) && !refIsOperationOutcome(oc) {
		return nil, false
	}
	out, err := marshalObject(r, "")
	return out, err == nil
}
