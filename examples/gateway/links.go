package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// linkStream rewrites, while streaming, every JSON string value that
// names the upstream server: the upstream base alone or followed by '/',
// '?' or '#' (Bundle link URLs, entry fullUrls, response locations,
// absolute references) gets the gateway's base instead. Member names,
// numbers and everything else pass through byte for byte, so the output
// differs from the input only in those strings.
//
// It reads the input a window at a time and holds no more than the
// window and the output not yet read, whatever the body's size or the
// length of its strings: a string longer than the window is rewritten or
// not by its start, and the rest of it passes through as it arrives.
// However the input is cut, each byte is scanned a bounded number of
// times. A string whose upstream base itself is written with escapes
// ("http:\/\/...") is left as it is: an upstream that writes its URLs
// so only leaves them showing.
type linkStream struct {
	src      io.ReadCloser
	upstream []byte // "http://hapi:8080/fhir"
	gateway  []byte // the gateway's base, JSON-escaped

	in       []byte // input read but not yet rewritten
	out      []byte // rewritten output not yet read
	off      int    // out[off:] is pending
	arrays   []bool // the open containers, true for an array
	last     byte   // the last structural byte outside strings (0 at the start)
	eof      bool
	verbatim bool // past nesting too deep to follow: copy the rest
	// scanned > 0: in begins with a string held over from the last
	// window, scanned for its end up to in[scanned]. inString: the input
	// goes on inside a string whose start has been handed on. esc: the
	// last byte scanned of either was an escaping backslash.
	scanned       int
	inString, esc bool
	err           error
}

const (
	linkWindow   = 32 << 10
	maxLinkDepth = 1 << 12
)

func newLinkStream(src io.ReadCloser, upstream, gateway string) *linkStream {
	gw, _ := json.Marshal(gateway) // a string always encodes
	return &linkStream{src: src, upstream: []byte(upstream), gateway: gw[1 : len(gw)-1], in: make([]byte, 0, linkWindow)}
}

func (s *linkStream) Close() error { return s.src.Close() }

func (s *linkStream) Read(p []byte) (int, error) {
	for s.off == len(s.out) {
		if s.err != nil {
			return 0, s.err
		}
		s.out, s.off = s.out[:0], 0
		if s.verbatim {
			return s.src.Read(p)
		}
		s.fill()
		s.rewrite()
	}
	n := copy(p, s.out[s.off:])
	s.off += n
	return n, nil
}

// fill reads more input after what is left of the window: at most a
// string shorter than the window, so there is room.
func (s *linkStream) fill() {
	n, err := s.src.Read(s.in[len(s.in):cap(s.in)])
	s.in = s.in[:len(s.in)+n]
	if err != nil {
		s.eof, s.err = true, err
	}
}

// rewrite moves what it can of the window to the output: everything up to
// a string whose end has not been read yet, unless the string fills the
// window (all of it at the end of input).
func (s *linkStream) rewrite() {
	in, i := s.in, 0
	if s.inString {
		i = s.passString(in)
	}
	for i < len(in) {
		q := bytes.IndexByte(in[i:], '"')
		if q < 0 {
			q = len(in) - i
		}
		s.structure(in[i : i+q])
		s.out = append(s.out, in[i:i+q]...)
		i += q
		if i == len(in) {
			break
		}
		end := s.stringAt(in, i)
		if end < 0 {
			switch {
			case s.eof: // never closed: not JSON, passed on as it is
				s.out = append(s.out, in[i:]...)
				i = len(in)
			case len(in)-i >= linkWindow: // too long to hold
				s.beginString(in[i:])
				i = len(in)
			}
			break // else read on to the string's end
		}
		s.value(in[i:end])
		i = end
	}
	s.in = append(s.in[:0], in[i:]...)
	if len(s.arrays) > maxLinkDepth { // nothing FHIR nests so deep
		s.out = append(s.out, s.in...)
		s.in, s.verbatim = s.in[:0], true
	}
}

// stringAt returns the index just after the string that starts at in[i],
// or -1 when it does not end in in. A string held over from the last
// window (at in[0]) is scanned on from where that scan stopped: however
// the input is cut, each byte is scanned once.
func (s *linkStream) stringAt(in []byte, i int) int {
	from := i + 1
	if i == 0 && s.scanned > 0 {
		from = s.scanned
	} else {
		s.esc = false
	}
	end := jsonsyntax.StringEnd(in[from:], &s.esc)
	if end < 0 {
		s.scanned = len(in) - i
		return -1
	}
	s.scanned = 0
	return from + end
}

// beginString writes part, the start of a string as long as the window
// (scanned to its end, without finding the string's), rewritten if the
// string names the upstream, and goes on inside the string: the rest of
// it is handed on as it arrives (passString).
func (s *linkStream) beginString(part []byte) {
	if rest, ok := s.cut(part[1:]); ok && len(rest) > 0 && s.isValue() {
		s.out = append(s.out, '"')
		s.out = append(s.out, s.gateway...)
		part = rest
	}
	s.out = append(s.out, part...)
	s.last = '"'
	s.inString, s.scanned = true, 0
}

// passString hands on in up to the end of the string the input is
// inside, and returns where the string ended (len(in) when it goes on).
func (s *linkStream) passString(in []byte) int {
	end := jsonsyntax.StringEnd(in, &s.esc)
	if end < 0 {
		s.out = append(s.out, in...)
		return len(in)
	}
	s.out = append(s.out, in[:end]...)
	s.inString = false
	return end
}

// structure follows the containers in b, which holds no string, so that a
// string can be told from a member name.
func (s *linkStream) structure(b []byte) {
	for _, c := range b {
		switch c {
		case '{', '[':
			s.arrays = append(s.arrays, c == '[')
			s.last = c
		case '}', ']':
			if len(s.arrays) > 0 {
				s.arrays = s.arrays[:len(s.arrays)-1]
			}
			s.last = c
		case ':', ',':
			s.last = c
		}
	}
}

// value writes the string tok (quotes included), rewritten if it is a
// value naming the upstream.
func (s *linkStream) value(tok []byte) {
	isValue := s.isValue()
	s.last = '"'
	if isValue && len(tok) >= 2 {
		if rest, ok := s.cut(tok[1 : len(tok)-1]); ok {
			s.out = append(s.out, '"')
			s.out = append(s.out, s.gateway...)
			s.out = append(s.out, rest...)
			s.out = append(s.out, '"')
			return
		}
	}
	s.out = append(s.out, tok...)
}

// isValue reports whether a string beginning now is a value, not a
// member name.
func (s *linkStream) isValue() bool {
	return s.last == ':' || s.last == '[' || s.last == 0 ||
		(s.last == ',' && len(s.arrays) > 0 && s.arrays[len(s.arrays)-1])
}

// cut returns what follows the upstream base in the string content v (as
// written, escapes and all), if v names the upstream. The base has no
// characters JSON escapes, so a string whose written form starts with it
// starts with it when decoded too; what follows is kept as written
// (encoding/json writes '&' as \u0026).
func (s *linkStream) cut(v []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(v, s.upstream)
	if !ok || (len(rest) > 0 && rest[0] != '/' && rest[0] != '?' && rest[0] != '#') {
		return nil, false
	}
	return rest, true
}
