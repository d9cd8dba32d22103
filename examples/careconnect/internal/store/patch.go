package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// maxPatchOps bounds the number of operations in one JSON Patch.
const maxPatchOps = 1000

// patchOp is one RFC 6902 operation.
type patchOp struct {
	Op    string           `json:"op"`
	Path  *string          `json:"path"`
	From  *string          `json:"from"`
	Value *json.RawMessage `json:"value"`
}

// ApplyPatch applies a JSON Patch document (RFC 6902) to doc and returns the
// result. Operations apply in order; any failure (bad pointer, failed test,
// unknown op) fails the whole patch with an error wrapping ErrInvalid.
// doc is modified in place.
func ApplyPatch(doc any, patch []byte) (any, error) {
	var ops []patchOp
	dec := json.NewDecoder(bytes.NewReader(patch))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ops); err != nil {
		return nil, fmt.Errorf("%w: JSON Patch must be an array of operations: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON Patch", ErrInvalid)
	}
	if len(ops) > maxPatchOps {
		return nil, fmt.Errorf("%w: JSON Patch has more than %d operations", ErrInvalid, maxPatchOps)
	}
	for i, op := range ops {
		var err error
		doc, err = applyOp(doc, op)
		if err != nil {
			return nil, fmt.Errorf("%w: JSON Patch operation %d (%s): %v", ErrInvalid, i, op.Op, err)
		}
	}
	return doc, nil
}

func applyOp(doc any, op patchOp) (any, error) {
	if op.Path == nil {
		return nil, fmt.Errorf("missing path")
	}
	path, err := parsePointer(*op.Path)
	if err != nil {
		return nil, err
	}
	value := func() (any, error) {
		if op.Value == nil {
			return nil, fmt.Errorf("missing value")
		}
		return decodeValue(*op.Value)
	}
	from := func() ([]string, error) {
		if op.From == nil {
			return nil, fmt.Errorf("missing from")
		}
		return parsePointer(*op.From)
	}
	switch op.Op {
	case "add":
		v, err := value()
		if err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "remove":
		doc, _, err := remove(doc, path)
		return doc, err
	case "replace":
		v, err := value()
		if err != nil {
			return nil, err
		}
		if doc, _, err = remove(doc, path); err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "move":
		f, err := from()
		if err != nil {
			return nil, err
		}
		if len(path) > len(f) && reflect.DeepEqual(path[:len(f)], f) {
			return nil, fmt.Errorf("cannot move a value into itself")
		}
		doc, v, err := remove(doc, f)
		if err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "copy":
		f, err := from()
		if err != nil {
			return nil, err
		}
		v, err := get(doc, f)
		if err != nil {
			return nil, err
		}
		return add(doc, path, deepCopy(v))
	case "test":
		want, err := value()
		if err != nil {
			return nil, err
		}
		got, err := get(doc, path)
		if err != nil {
			return nil, err
		}
		if !jsonEqual(got, want) {
			return nil, fmt.Errorf("test failed at %q", *op.Path)
		}
		return doc, nil
	default:
		return nil, fmt.Errorf("unknown op %q", op.Op)
	}
}

func decodeValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// parsePointer parses an RFC 6901 JSON Pointer into reference tokens.
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("pointer %q must start with /", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(s, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("pointer %q has a bad escape", p)
		}
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

func arrayIndex(tok string, n int, allowEnd bool) (int, error) {
	if allowEnd && tok == "-" {
		return n, nil
	}
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, fmt.Errorf("bad array index %q", tok)
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("bad array index %q", tok)
	}
	limit := n - 1
	if allowEnd {
		limit = n
	}
	if i > limit {
		return 0, fmt.Errorf("array index %d out of range", i)
	}
	return i, nil
}

func get(doc any, path []string) (any, error) {
	cur := doc
	for _, tok := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("no member %q", tok)
			}
			cur = v
		case []any:
			i, err := arrayIndex(tok, len(c), false)
			if err != nil {
				return nil, err
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("cannot descend into a scalar at %q", tok)
		}
	}
	return cur, nil
}

// add sets the value at path (inserting into arrays) and returns the new root.
func add(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := get(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		p[last] = v
		return doc, nil
	case []any:
		i, err := arrayIndex(last, len(p), true)
		if err != nil {
			return nil, err
		}
		grown := append(p[:i:i], append([]any{v}, p[i:]...)...)
		return setAt(doc, path[:len(path)-1], grown)
	default:
		return nil, fmt.Errorf("cannot add to a scalar")
	}
}

// remove deletes the value at path and returns the new root and the value.
func remove(doc any, path []string) (any, any, error) {
	if len(path) == 0 {
		return nil, nil, fmt.Errorf("cannot remove the whole document")
	}
	parent, err := get(doc, path[:len(path)-1])
	if err != nil {
		return nil, nil, err
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		v, ok := p[last]
		if !ok {
			return nil, nil, fmt.Errorf("no member %q", last)
		}
		delete(p, last)
		return doc, v, nil
	case []any:
		i, err := arrayIndex(last, len(p), false)
		if err != nil {
			return nil, nil, err
		}
		v := p[i]
		shrunk := append(p[:i:i], p[i+1:]...)
		doc, err = setAt(doc, path[:len(path)-1], shrunk)
		return doc, v, err
	default:
		return nil, nil, fmt.Errorf("cannot remove from a scalar")
	}
}

// setAt replaces the value at path (which exists) and returns the new root.
func setAt(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	parent, err := get(doc, path[:len(path)-1])
	if err != nil {
		return nil, err
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		p[last] = v
	case []any:
		i, err := arrayIndex(last, len(p), false)
		if err != nil {
			return nil, err
		}
		p[i] = v
	}
	return doc, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}

// jsonEqual compares decoded JSON values; numbers compare by value.
func jsonEqual(a, b any) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		af, err1 := an.Float64()
		bf, err2 := bn.Float64()
		return err1 == nil && err2 == nil && af == bf
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !jsonEqual(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(a, b)
	}
}
