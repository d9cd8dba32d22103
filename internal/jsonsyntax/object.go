package jsonsyntax

import (
	"bytes"
	"errors"
	"fmt"
)

// The errors of the readers. Each is wrapped with where it happened;
// callers branch with errors.Is.
var (
	// ErrSyntax is input that is not JSON (what encoding/json.Valid
	// refuses), or a value that is not of the kind read.
	ErrSyntax = errors.New("jsonsyntax: invalid JSON")
	// ErrDuplicateName is an object with two member names that a
	// parser may take for one: equal once unquoted, or FoldEqual.
	ErrDuplicateName = errors.New("jsonsyntax: duplicate or case-variant member name")
	// ErrInvalidString is a string read with invalid UTF-8 or an escaped
	// surrogate that is not half of a pair: decoders replace these with
	// U+FFFD, so different strings would read as one.
	ErrInvalidString = errors.New("jsonsyntax: invalid UTF-8 or lone surrogate in a string")
	// ErrTooDeep is nesting deeper than MaxDepth.
	ErrTooDeep = errors.New("jsonsyntax: nested too deeply")
)

// ObjectReader reads the members of one JSON object, in order: for each,
// its name, unquoted, and its value, validated (or found fast in a
// document Valid has accepted). It refuses, with ErrDuplicateName, a
// name that folds like an earlier one of the same object (NameSet), and
// with ErrInvalidString a name that does not unquote to valid UTF-8:
// whatever a caller reads from an object, no parser reads another member
// of it under that name. Nothing else is read into a name.
//
//	obj := jsonsyntax.ReadObject(doc, 0, 0)
//	for obj.Next() {
//		if string(obj.Name()) == "resourceType" {
//			rt, err = jsonsyntax.Unquote(obj.Value())
//		}
//	}
//	if err := obj.Err(); err != nil { ... }
//
// A caller that walks a value itself (to descend into it without reading
// it twice) takes its start with ValueStart and hands back its end with
// SkipTo; a value the caller neither reads nor skips is read by the next
// call of Next. A reader of a small object does not allocate.
type ObjectReader struct {
	cursor
	name    []byte
	plain   bool   // name is ASCII written without escapes
	escaped bool   // name was written with escapes
	scratch []byte // a name that is not plain, unquoted
	names   NameSet
}

// ArrayReader reads the elements of one JSON array, in order, as
// ObjectReader reads an object's members: Next moves to an element,
// Value reads it, or ValueStart and SkipTo let the caller read it.
type ArrayReader struct {
	cursor
}

// ReadObject starts reading the object that starts at data[i] (after
// optional space); depth is how many arrays and objects are open around
// it, for the nesting limit (0 for a document's root).
func ReadObject(data []byte, i, depth int) ObjectReader {
	return ObjectReader{cursor: open(data, i, depth, false, '{')}
}

// ReadValidObject is ReadObject for data that Valid has accepted as a
// whole: values are not validated again, only their ends found, fast.
// Names are still unquoted and checked.
func ReadValidObject(data []byte, i int) ObjectReader {
	return ObjectReader{cursor: open(data, i, 0, true, '{')}
}

// ReadArray starts reading the array that starts at data[i] (after
// optional space), with depth arrays and objects open around it.
func ReadArray(data []byte, i, depth int) ArrayReader {
	return ArrayReader{open(data, i, depth, false, '[')}
}

// ReadValidArray is ReadArray for data that Valid has accepted.
func ReadValidArray(data []byte, i int) ArrayReader {
	return ArrayReader{open(data, i, 0, true, '[')}
}

// Next moves to the next member, reading its name and colon, and reports
// false at the end of the object or on an error (see Err).
func (r *ObjectReader) Next() bool {
	i, ok := r.advance('}')
	return ok && r.readName(i)
}

// Next moves to the next element, and reports false at the end of the
// array or on an error (see Err).
func (r *ArrayReader) Next() bool {
	i, ok := r.advance(']')
	if ok {
		r.valueAt, r.pos = i, i
	}
	return ok
}

// readName reads the name at data[i] and the colon after it.
func (r *ObjectReader) readName(i int) bool {
	name, plain, end, err := ReadName(r.data, i, r.scratch[:0])
	if err != nil {
		return r.fail(i, err, "in a member name")
	}
	if !plain {
		r.scratch = name
	}
	if !r.names.Add(name, plain) {
		return r.fail(i, ErrDuplicateName, fmt.Sprintf("%q", clipName(name)))
	}
	if end = SkipSpace(r.data, end); end >= len(r.data) || r.data[end] != ':' {
		return r.fail(end, ErrSyntax, "want ':' after a member name")
	}
	r.name, r.plain = name, plain
	r.escaped = !plain && bytes.IndexByte(r.data[i:end], '\\') >= 0
	r.valueAt = SkipSpace(r.data, end+1)
	r.pos = r.valueAt
	return true
}

// clipName shortens a name for an error message: names are the input's,
// and an error must not echo a long one.
func clipName(name []byte) []byte {
	const most = 64
	if len(name) <= most {
		return name
	}
	return append(bytes.ToValidUTF8(name[:most:most], nil), "..."...)
}

// ReadName reads the member name whose opening quote is data[i] and
// returns it unquoted, with the index just after its closing quote. A
// plain name (ASCII without escapes) views data; another is appended to
// scratch. Errors are ErrSyntax, and ErrInvalidString for a name that is
// not valid UTF-8 once unquoted. ObjectReader reads names with it; a
// reader that walks objects itself does too, and keeps them in a
// NameSet, so that it applies the same rule.
func ReadName(data []byte, i int, scratch []byte) (name []byte, plain bool, end int, err error) {
	end, plain = ScanStringPlain(data, i)
	if end < 0 {
		return nil, false, -1, ErrSyntax
	}
	if plain {
		return data[i+1 : end-1], true, end, nil
	}
	name, ok := appendUnescaped(scratch, data[i+1:end-1])
	if !ok {
		return nil, false, -1, ErrInvalidString
	}
	return name, false, end, nil
}

// Name returns the current member's name, unquoted. It is valid until
// the next call of Next (it may view the input or the reader's scratch).
func (r *ObjectReader) Name() []byte { return r.name }

// Plain reports whether the current member's name is plain: ASCII
// written without escapes, so that it is its bytes in the input, and
// equal under FoldEqual only to names of its own length.
func (r *ObjectReader) Plain() bool { return r.plain }

// Escaped reports whether the current member's name was written with
// escapes ("\u0069d" for "id"): a reader whose element names never need
// one may refuse it, against a consumer that compares names unread.
func (r *ObjectReader) Escaped() bool { return r.escaped }

// Done reads the members left and reports the first error, nil when the
// object was read whole and, when whole is true, nothing but space
// follows it in data.
func (r *ObjectReader) Done(whole bool) error {
	for r.Next() {
	}
	if r.err == nil && whole && SkipSpace(r.data, r.end) != len(r.data) {
		r.fail(r.end, ErrSyntax, "data after the value")
	}
	return r.err
}

// cursor is what ObjectReader and ArrayReader share: the position in
// the document, the value not read yet, the end, the first error.
type cursor struct {
	data    []byte
	pos     int  // the next byte to read
	depth   int  // arrays and objects open at pos, this one included
	trusted bool // data is Valid: values are found with Skip
	items   int  // members or elements read
	valueAt int  // the start of the value not read yet, or -1
	end     int  // after the closing brace or bracket, once read; -1 before
	err     error
}

// open starts a cursor at the opening byte c at data[i] (after space).
func open(data []byte, i, depth int, trusted bool, c byte) cursor {
	r := cursor{data: data, depth: depth + 1, trusted: trusted, valueAt: -1, end: -1}
	i = SkipSpace(data, i)
	switch {
	case i < 0 || i >= len(data) || data[i] != c:
		r.fail(i, ErrSyntax, "want '"+string(c)+"'")
	case r.depth > MaxDepth:
		r.fail(i, ErrTooDeep, "")
	default:
		r.pos = i + 1
	}
	return r
}

func (r *cursor) fail(at int, err error, what string) bool {
	if what != "" {
		r.err = fmt.Errorf("%w at offset %d: %s", err, at, what)
	} else {
		r.err = fmt.Errorf("%w at offset %d", err, at)
	}
	r.valueAt = -1
	return false
}

// advance reads the value not read yet, then the separator or the
// closing byte: it returns where the next item starts (after space), or
// false at the end or on an error.
func (r *cursor) advance(closing byte) (int, bool) {
	if r.err != nil || r.end >= 0 {
		return 0, false
	}
	if r.valueAt >= 0 && r.Value() == nil {
		return 0, false
	}
	i := SkipSpace(r.data, r.pos)
	if i >= len(r.data) {
		return 0, r.fail(i, ErrSyntax, "unterminated")
	}
	switch c := r.data[i]; {
	case c == closing:
		r.end = i + 1
		return 0, false
	case r.items == 0: // the first item, at i
	case c == ',':
		i = SkipSpace(r.data, i+1)
	default:
		return 0, r.fail(i, ErrSyntax, "want ',' or '"+string(closing)+"'")
	}
	r.items++
	return i, true
}

// Value reads the current member's value or element and returns its
// bytes (a JSON value, viewing the input), or nil on an error. A second
// call returns nil.
func (r *cursor) Value() []byte {
	start := r.valueAt
	if start < 0 || r.err != nil {
		return nil
	}
	var end int
	switch {
	case r.trusted:
		end = Skip(r.data, start)
	case start < len(r.data) && r.data[start] == '"':
		// Most values read are strings: scanned without ValidValue's
		// setup (the same checks, one call shorter).
		if end = scanString(r.data, start); end < 0 {
			r.fail(start, ErrSyntax, "invalid string")
			return nil
		}
	default:
		if end = ValidValue(r.data, start, r.depth); end < 0 {
			r.fail(start, ErrSyntax, "invalid value")
			return nil
		}
	}
	r.valueAt, r.pos = -1, end
	return r.data[start:end]
}

// ValueStart returns where the current value starts (after space) and
// the depth open there, for a caller that reads the value itself; it
// must then call SkipTo with the value's end. It returns -1 when there is
// no value to read.
func (r *cursor) ValueStart() (at, depth int) { return r.valueAt, r.depth }

// SkipTo tells the reader that the current value, read by the caller
// from ValueStart, ends at data[end] (or that it could not be read, when
// end < 0).
func (r *cursor) SkipTo(end int) {
	if r.valueAt < 0 || r.err != nil {
		return
	}
	if end < r.valueAt {
		r.fail(r.valueAt, ErrSyntax, "invalid value")
		return
	}
	r.valueAt, r.pos = -1, end
}

// End returns the index just after the closing brace or bracket once
// Next has reported the end, or -1 (before, or after an error).
func (r *cursor) End() int {
	if r.err != nil {
		return -1
	}
	return r.end
}

// Err returns the first error the reader met, nil when there was none.
func (r *cursor) Err() error { return r.err }
