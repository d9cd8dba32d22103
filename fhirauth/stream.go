package fhirauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// ErrNotStreamable is what a BundleStream reports when the Bundle cannot
// be checked entry by entry as it arrives (not a search-set Bundle with
// resourceType and type before its entries, or not a Bundle at all)
// before it has written anything: the caller checks the whole response
// instead (CheckResponse), starting with Pending.
var ErrNotStreamable = errors.New("fhirauth: the response cannot be checked as it streams")

// BundleStream is the response check of a search-set Bundle done as the
// Bundle arrives: the caller writes the server's body to it in pieces of
// any size, and it writes to w the Bundle that CheckResponse would
// return, entry by entry, holding only the Bundle's members read so far
// (small) and the entry being read. Each entry is read with the same
// strict reader and kept or removed by the same rules (filterBundle's
// appendEntry), so the output is CheckResponse's, byte for byte when
// id, meta, type and link come before entry in the input (a member that
// comes after the entries is written after them).
//
// It streams only what it can check without seeing the rest: a Bundle
// whose resourceType ("Bundle") and type ("searchset", or none yet) come
// before its entry array. Until that array starts it writes nothing and
// keeps the body (Pending); anything else ends it with ErrNotStreamable,
// and the caller checks the whole body instead (CheckResponse).
//
// Once it streams, every error is final. A failed check wraps ErrNotJSON
// (a failed write to w comes back wrapped as it is): invalid JSON, two
// top-level members a parser may take for one (a second entry, an
// "ENTRY"), a type of "history" after entries were checked as a search
// set's (CheckResponse would have checked them as a history's), bytes
// after the Bundle, more than limit bytes in all, more than 1024
// top-level members (whose folded names it keeps), or a body that ends
// early (Close). What it wrote before the error had passed the check,
// but the closing '}' is written only by a Close that found the whole
// Bundle valid: a caller that has sent output (Sent) must abort the
// response, so that the client never takes the part for the whole.
type BundleStream struct {
	d     *Decision
	w     io.Writer
	limit int64
	seen  int64 // bytes written to the stream
	err   error // the first error: every later call returns it

	state int       // where in the Bundle the next byte is (st* constants)
	first bool      // no member (element) yet in the object (array) being read
	key   int       // the member being read: its index in filterBundleNames, or -1
	scan  valueScan // the end of the name, value or entry being read

	// piece is the name, value or entry being read when it began in an
	// earlier Write; start is where it began in the current Write (-1
	// when it is in piece).
	piece []byte
	start int

	names   jsonsyntax.NameSet // the Bundle's member names, folded
	members int
	scratch []byte // a member name that is not plain, unquoted

	raw  []byte          // the whole body, until the Bundle streams
	vals [fbCount][]byte // the Bundle's members before entry, until it streams

	streaming bool
	sent      bool // some output reached w
	entries   entryList
	out       []byte // output not yet written to w
}

// States of a BundleStream: before the Bundle's '{'; before a member
// name (or '}'); in it; before ':'; before a value; in it; after it;
// before an entry (or ']'); in it; after it; after the Bundle.
const (
	stBegin = iota
	stName
	stInName
	stColon
	stValue
	stInValue
	stAfterValue
	stEntry
	stInEntry
	stAfterEntry
	stEnd
)

// The refusals of a BundleStream that CheckResponse does not share: it
// checks a search set's entries before it has seen the whole Bundle.
var (
	errLateHistory    = errors.New("the Bundle's type is history, after entries were checked as a search's")
	errStreamClosed   = fmt.Errorf("%w: the Bundle was closed", ErrNotJSON)
	errTooManyMembers = fmt.Errorf("the Bundle has more than %d members", maxStreamMembers)
)

// Limits of a BundleStream.
const (
	// streamFlush is how much output a BundleStream gathers before it
	// writes to w (net/http then sends it as one chunk).
	streamFlush = 32 << 10
	// maxStreamMembers bounds the Bundle's top-level members (FHIR
	// defines a dozen), whose folded names it keeps to refuse
	// duplicates: a Bundle with more is refused.
	maxStreamMembers = 1024
)

// StreamBundle returns a BundleStream that checks the response of this
// decision, a Bundle of at most limit bytes, as it arrives, and writes
// what passes to w. For a decision whose response is not a Bundle that
// can stream (see StreamsResponse), the first Write returns
// ErrNotStreamable.
func (d *Decision) StreamBundle(w io.Writer, limit int64) *BundleStream {
	return &BundleStream{d: d, w: w, limit: limit, key: -1, start: -1}
}

// StreamsResponse reports whether a 2xx response of this decision may be
// checked with StreamBundle: it is a search, history or $everything
// Bundle (not one resource's history, which is withheld whole when one
// version is).
func (d *Decision) StreamsResponse() bool {
	return d.response.on && d.response.bundle && !d.response.history
}

// Streaming reports whether the stream has begun its output: from then
// on errors are final (there is nothing for a caller to fall back on).
func (s *BundleStream) Streaming() bool { return s.streaming }

// Sent reports whether any output has been written to w.
func (s *BundleStream) Sent() bool { return s.sent }

// Pending is the body written so far while the stream has not begun its
// output (see ErrNotStreamable); nil once it has.
func (s *BundleStream) Pending() []byte { return s.raw }

// Held is the memory the stream holds now, in bytes: the body before it
// streams, then the entry being read and the output not yet written.
func (s *BundleStream) Held() int {
	n := cap(s.raw) + cap(s.piece) + cap(s.out) + cap(s.scratch)
	for _, v := range s.vals {
		n += cap(v)
	}
	return n
}

// Removed is the number of entries removed so far.
func (s *BundleStream) Removed() int { return s.entries.removed }

// Write reads the next bytes of the body. Its errors are those of the
// type's documentation; after one, the stream accepts nothing more.
func (s *BundleStream) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if !s.d.StreamsResponse() {
		s.raw = append(s.raw, p...)
		return 0, s.fail(fmt.Errorf("%w: not a Bundle of a search", ErrNotStreamable))
	}
	var err error
	if s.seen += int64(len(p)); s.seen > s.limit {
		err = fmt.Errorf("%w: the response is larger than %d bytes", ErrNotJSON, s.limit)
	} else {
		err = s.feed(p)
	}
	if !s.streaming {
		// Kept for the caller to fall back on; once the Bundle streams
		// (here, from a point inside p) it is not needed.
		s.raw = append(s.raw, p...)
	}
	if err == nil {
		err = s.flushFull()
	}
	if err != nil {
		return 0, s.fail(err)
	}
	return len(p), nil
}

// Close ends the body: when the whole Bundle has been read and found
// valid, it writes the end of the output and returns the number of
// entries removed.
func (s *BundleStream) Close() (removed int, err error) {
	defer s.release()
	switch {
	case s.err != nil:
		return s.entries.removed, s.err
	case !s.streaming:
		return 0, s.fail(fmt.Errorf("%w: the Bundle has no entries to stream", ErrNotStreamable))
	case s.state != stEnd:
		return s.entries.removed, s.fail(fmt.Errorf("%w: the Bundle ends early", ErrNotJSON))
	}
	s.out = append(s.out, '}')
	if err := s.flush(); err != nil {
		return s.entries.removed, s.fail(err)
	}
	s.err = errStreamClosed // nothing may follow the Bundle
	return s.entries.removed, nil
}

// fail records err as the stream's outcome. Before the stream began its
// output, every error is ErrNotStreamable: the caller checks the whole
// body, which words the refusal as CheckResponse does.
func (s *BundleStream) fail(err error) error {
	if !s.streaming && !errors.Is(err, ErrNotStreamable) {
		err = fmt.Errorf("%w: %w", ErrNotStreamable, err)
	}
	s.err = err
	s.out = s.out[:0] // what is not written yet never will be
	return err
}

// release drops what the stream holds, except Pending after a fallback.
func (s *BundleStream) release() {
	if out := s.out[:0]; out != nil && cap(out) <= 4*streamFlush {
		outBuffers.Put(&out)
	}
	s.piece, s.out, s.scratch, s.vals = nil, nil, nil, [fbCount][]byte{}
}

// outBuffers holds the output buffers of finished streams (each up to
// streamFlush plus an entry): without them every streamed response
// allocated its buffer anew as it grew, ~120 KB
// (BenchmarkCheckedResponseSize, 157 KB per response before, 37 KB after).
var outBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, streamFlush+streamFlush/2)
	return &b
}}

// flushFull writes the output gathered so far to w once it reaches
// streamFlush bytes.
func (s *BundleStream) flushFull() error {
	if len(s.out) < streamFlush {
		return nil
	}
	return s.flush()
}

// flush writes the output gathered so far to w.
func (s *BundleStream) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	s.sent = true
	if _, err := s.w.Write(s.out); err != nil {
		return fmt.Errorf("fhirauth: writing the checked Bundle: %w", err)
	}
	s.out = s.out[:0]
	return nil
}

// feed reads p through the states of the Bundle's syntax, handing each
// completed name, value and entry to its reader.
func (s *BundleStream) feed(p []byte) error {
	s.start = -1
	for i := 0; i < len(p); {
		if s.state == stInName || s.state == stInValue || s.state == stInEntry {
			end, whole, done := s.readPiece(p, i)
			if done {
				if err := s.pieceRead(whole); err != nil {
					return err
				}
			}
			i = end
			continue
		}
		if i = jsonsyntax.SkipSpace(p, i); i == len(p) {
			break
		}
		if err := s.punctuation(p[i]); err != nil {
			return err
		}
		if s.state == stInName || s.state == stInValue || s.state == stInEntry {
			s.start, s.scan = i, valueScan{} // p[i] begins the piece
			continue
		}
		i++
	}
	return nil
}

// readPiece scans the piece being read from p[i] and returns where it
// stopped and, when the piece ended there (done), the whole piece.
func (s *BundleStream) readPiece(p []byte, i int) (end int, whole []byte, done bool) {
	j := s.scan.feed(p[i:])
	if j < 0 {
		from := i
		if s.start >= 0 {
			from, s.start = s.start, -1
		}
		s.piece = append(s.piece, p[from:]...)
		return len(p), nil, false
	}
	end = i + j
	if s.start >= 0 {
		whole, s.start = p[s.start:end], -1
		return end, whole, true
	}
	s.piece = append(s.piece, p[i:end]...)
	return end, s.piece, true
}

// punctuation moves the state on over c, a byte that is not space
// outside a name, value or entry; a byte that begins one moves the state
// into it.
func (s *BundleStream) punctuation(c byte) error {
	switch s.state {
	case stBegin:
		return s.expect(c == '{', stName, "want a JSON object")
	case stName:
		if c == '}' && s.first {
			s.state = stEnd
			return nil
		}
		return s.expect(c == '"', stInName, "want a member name")
	case stColon:
		return s.expect(c == ':', stValue, "want ':' after a member name")
	case stValue:
		if s.key == fbEntry {
			if c != '[' {
				return fmt.Errorf("%w: malformed Bundle: entry is not an array", ErrNotJSON)
			}
			return s.beginEntries()
		}
		s.state = stInValue
	case stAfterValue:
		if c == '}' {
			s.state = stEnd
			return nil
		}
		return s.expect(c == ',', stName, "want ',' or '}' after a member")
	case stEntry:
		if c == ']' && s.first {
			return s.endEntries()
		}
		s.state = stInEntry
	case stAfterEntry:
		if c == ']' {
			return s.endEntries()
		}
		return s.expect(c == ',', stEntry, "want ',' or ']' after an entry")
	case stEnd:
		return fmt.Errorf("%w: not valid JSON: bytes after the Bundle", ErrNotJSON)
	}
	return nil
}

// expect moves to state next when ok, and reports a syntax error (what
// was wanted) otherwise. Entering an object or array, or leaving a
// member or element for the next, sets first.
func (s *BundleStream) expect(ok bool, next int, want string) error {
	if !ok {
		return fmt.Errorf("%w: not valid JSON: %s", ErrNotJSON, want)
	}
	s.first = s.state == stBegin
	s.state = next
	return nil
}

// pieceRead hands a completed name, value or entry to its reader.
func (s *BundleStream) pieceRead(whole []byte) error {
	var err error
	switch s.state {
	case stInName:
		err = s.readName(whole)
		s.state = stColon
	case stInValue:
		err = s.readValue(whole)
		s.state = stAfterValue
	case stInEntry:
		err = s.readEntry(whole)
		s.state = stAfterEntry
	}
	s.piece = s.piece[:0]
	return err
}

// readName reads a member name of the Bundle by filterBundle's rules:
// the name set of jsonsyntax's object reader (no two names a parser may
// take for one), no escapes, no case variant of a name filterBundle
// reads.
func (s *BundleStream) readName(quoted []byte) error {
	name, plain, end, err := jsonsyntax.ReadName(quoted, 0, s.scratch[:0])
	if err != nil || end != len(quoted) {
		return fmt.Errorf("%w: malformed Bundle: a member name: %v", ErrNotJSON, err)
	}
	if !plain {
		s.scratch = name
		if bytes.IndexByte(quoted, '\\') >= 0 {
			return fmt.Errorf("%w: malformed Bundle: %v", ErrNotJSON, errAmbiguousJSON)
		}
	}
	if s.members++; s.members > maxStreamMembers {
		return fmt.Errorf("%w: malformed Bundle: %w", ErrNotJSON, errTooManyMembers)
	}
	if !s.names.Add(name, plain) {
		return fmt.Errorf("%w: malformed Bundle: %w: %q", ErrNotJSON, jsonsyntax.ErrDuplicateName, name)
	}
	ms := memberSet{names: filterBundleNames}
	if s.key, err = ms.index(jsonsyntax.View(name)); err != nil {
		return fmt.Errorf("%w: malformed Bundle: %v", ErrNotJSON, err)
	}
	return nil
}

// readValue reads the value of a Bundle member other than entry: kept
// (a copy) until the Bundle streams, and written after the entries when
// it comes after them.
func (s *BundleStream) readValue(v []byte) error {
	if jsonsyntax.ValidValue(v, 0, 1) != len(v) {
		return fmt.Errorf("%w: not valid JSON", ErrNotJSON)
	}
	if s.key < 0 || s.key == fbTotal {
		return nil
	}
	if !s.streaming {
		s.vals[s.key] = append([]byte(nil), v...)
		return nil
	}
	if s.key == fbType {
		if typ, _ := jsonStringView(v); typ == "history" {
			return fmt.Errorf("%w: %w", ErrNotJSON, errLateHistory)
		}
	}
	s.out = s.d.appendBundleMember(s.out, s.key, v)
	return nil
}

// beginEntries starts the output at the entry array, when the Bundle can
// stream: resourceType Bundle and type searchset (or none) came first.
func (s *BundleStream) beginEntries() error {
	if rt, ok := jsonStringView(s.vals[fbResourceType]); !ok || rt != "Bundle" {
		return fmt.Errorf("%w: no resourceType Bundle before the entries", ErrNotStreamable)
	}
	if t := s.vals[fbType]; t != nil {
		if typ, ok := jsonStringView(t); !ok || typ != "searchset" {
			return fmt.Errorf("%w: a Bundle of type %s", ErrNotStreamable, clip(string(t)))
		}
	}
	s.out = s.d.appendBundleHead((*outBuffers.Get().(*[]byte))[:0], &s.vals)
	s.vals, s.raw = [fbCount][]byte{}, nil
	s.streaming = true
	s.state, s.first = stEntry, true
	return nil
}

// readEntry checks one entry and appends it, rebuilt, when it is kept.
func (s *BundleStream) readEntry(entry []byte) error {
	if jsonsyntax.ValidValue(entry, 0, 2) != len(entry) {
		return fmt.Errorf("%w: not valid JSON", ErrNotJSON)
	}
	s.out = s.entries.add(s.d, s.out, entry)
	s.first = false
	return s.flushFull() // also within one large Write
}

// endEntries ends the entry array.
func (s *BundleStream) endEntries() error {
	s.out = s.entries.close(s.out)
	s.state = stAfterValue
	return nil
}
