package fhirauth

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// patchAvoids denies a patch that could change one of elems (top-level
// element names). JSON Patch operations are checked by their "path" and
// "from" pointers; FHIRPath Patch operations by every name in their "path"
// expression and their "name" part, and in a "from" part too: medplum
// reads a Parameters patch as JSON Patch operations in Parameters form
// (op, path, from, value), whose "move" empties the element its "from"
// names. A patch replacing the whole resource ("" path) or in a format
// fhirauth cannot read is denied.
func (e *evaluation) patchAvoids(elems []string, what string) denial {
	req := e.req
	var touched string
	var err error
	switch req.Patch {
	case JSONPatch:
		touched, err = jsonPatchTouches(req.Body, elems)
	case FHIRPathPatch:
		touched, err = fhirPathPatchTouches(req.Body, elems)
	default:
		return denial{status: http.StatusBadRequest, code: "not-supported",
			reason: "only JSON Patch and FHIRPath Patch (JSON) can be authorized when the patch must stay within " + what}
	}
	if err != nil {
		return denial{status: http.StatusBadRequest, code: "invalid", reason: "malformed patch: " + err.Error()}
	}
	if touched != "" {
		return e.deny(http.StatusForbidden, "the patch changes %q, which decides %s; not allowed", touched, what)
	}
	return denial{}
}

func jsonPatchTouches(body []byte, elems []string) (string, error) {
	var touched string
	err := eachElement(body, func(_ int, op []byte) error {
		ms := memberSet{names: []string{"op", "path", "from"}}
		return eachMember(op, func(key string, v []byte) error {
			i, err := ms.index(key)
			if err != nil || i < 1 {
				return err
			}
			ptr, ok := jsonString(v)
			if !ok {
				return errNotObject
			}
			if touched == "" {
				touched = pointerTouches(ptr, elems)
			}
			return nil
		})
	})
	if err == errNotArray {
		return "", err
	}
	return touched, err
}

// pointerTouches returns the element a JSON Pointer changes if it is in
// elems ("" root counts as everything).
func pointerTouches(ptr string, elems []string) string {
	if ptr == "" || ptr == "/" {
		return "(the whole resource)"
	}
	first := strings.TrimPrefix(ptr, "/")
	first, _, _ = strings.Cut(first, "/")
	first = strings.ReplaceAll(strings.ReplaceAll(first, "~1", "/"), "~0", "~")
	for _, el := range elems {
		if namesElement(first, el) {
			return el
		}
	}
	return ""
}

// namesElement reports whether name (a JSON member or a FHIRPath
// identifier) is element el, case-insensitively to fail closed. A choice
// element "value[x]" is named by "value" and by every name that starts
// with it ("valueQuantity").
func namesElement(name, el string) bool {
	if base, ok := strings.CutSuffix(el, "[x]"); ok {
		return hasFoldPrefix(name, base)
	}
	return strings.EqualFold(name, el)
}

// hasFoldPrefix reports whether s starts with prefix under Unicode simple
// folding, as strings.EqualFold compares ("ſ" is "s").
func hasFoldPrefix(s, prefix string) bool {
	for _, r := range prefix {
		c, size := utf8.DecodeRuneInString(s)
		if size == 0 || !strings.EqualFold(string(c), string(r)) {
			return false
		}
		s = s[size:]
	}
	return true
}

func fhirPathPatchTouches(body []byte, elems []string) (string, error) {
	var touched string
	root := memberSet{names: []string{"parameter"}}
	err := eachMember(body, func(key string, v []byte) error {
		if i, err := root.index(key); err != nil || i < 0 {
			return err
		}
		return eachElement(v, func(_ int, param []byte) error {
			ms := memberSet{names: []string{"name", "part"}}
			return eachMember(param, func(k string, pv []byte) error {
				if i, err := ms.index(k); err != nil || i != 1 {
					return err
				}
				return eachElement(pv, func(_ int, part []byte) error {
					name, value, _, err := primitiveParameter(part)
					if err != nil || touched != "" {
						return err
					}
					if name == "path" || name == "name" || name == "source" || name == "destination" || name == "from" {
						touched = expressionTouches(value, elems)
					}
					return nil
				})
			})
		})
	})
	return touched, err
}

// expressionTouches returns the first identifier of a FHIRPath expression
// that is in elems (case-insensitively, to fail closed).
//
// Expressions that can reach elements without naming them are taken to
// touch everything: escapes (a delimited identifier such as `\u0073ubject`)
// and the functions that navigate to unnamed children.
func expressionTouches(expr string, elems []string) string {
	if strings.ContainsAny(expr, "\\%") {
		return "(an escaped or environment name in " + clip(expr) + ")"
	}
	fields := strings.FieldsFunc(expr, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	})
	for _, f := range fields {
		switch strings.ToLower(f) {
		case "children", "descendants", "repeat", "resolve":
			return "(unnamed elements through " + f + "())"
		}
		for _, el := range elems {
			if namesElement(f, el) {
				return el
			}
		}
	}
	return ""
}
