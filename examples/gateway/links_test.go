package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testUpstream = "http://up:8080/baseR4"
	testGateway  = "https://gw.example/fhir"
)

// streamAll rewrites body through a linkStream reading from r(body).
func streamAll(t testing.TB, body []byte, r func(io.Reader) io.Reader) []byte {
	t.Helper()
	s := newLinkStream(io.NopCloser(r(bytes.NewReader(body))), testUpstream, testGateway)
	out, err := io.ReadAll(s)
	require.NoError(t, err)
	return out
}

// readers are the ways the upstream's body may arrive: whole, a byte at
// a time, in halves, in odd pieces.
var readers = map[string]func(io.Reader) io.Reader{
	"whole":    func(r io.Reader) io.Reader { return r },
	"one byte": iotest.OneByteReader,
	"half":     iotest.HalfReader,
	"data+err": iotest.DataErrReader,
}

// reference is the rewrite done the slow, obvious way: decode with
// encoding/json, replace string values naming the upstream, and compare
// decoded documents (member order and spacing aside).
func reference(v any) any {
	switch v := v.(type) {
	case string:
		if rest, ok := strings.CutPrefix(v, testUpstream); ok && (rest == "" || strings.ContainsRune("/?#", rune(rest[0]))) {
			return testGateway + rest
		}
		return v
	case map[string]any:
		for k, x := range v {
			v[k] = reference(x)
		}
	case []any:
		for i, x := range v {
			v[i] = reference(x)
		}
	}
	return v
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v), "%.200s", b)
	return v
}

func TestLinkStream(t *testing.T) {
	in := `{"resourceType":"Bundle","type":"batch-response","link":[{"relation":"self","url":"http://up:8080/baseR4/Observation?x=1"},{"relation":"next","url":"http://up:8080/baseR4?_getpages=a"}],
		"entry":[{"fullUrl":"http://up:8080/baseR4/Observation/1","resource":{"resourceType":"Bundle","link":[{"relation":"next","url":"http://up:8080/baseR4/Observation?_offset=1"}]},"response":{"status":"200 OK","location":"http://up:8080/baseR4/Observation/1/_history/1"}},
		{"fullUrl":"http://up:8080/baseR4x/Other/1","resource":{"resourceType":"Observation","id":"1","valueQuantity":{"value":5.40},
		"http://up:8080/baseR4/name":"a member name is not a URL","subject":{"reference":"http://up:8080/baseR4/Patient/1"},"note":[{"text":"http://up:8080/baseR4"},{"text":"see http://up:8080/baseR4/x"}],
		"escaped":"http:\/\/up:8080\/baseR4\/Patient\/2","amp":"http://up:8080/baseR4/Patient?a=1\u0026b=2","list":["http://up:8080/baseR4#frag", 1, "http://up:8080/baseR4/a"]}}]}`
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			out := string(streamAll(t, []byte(in), r))
			for _, want := range []string{
				`"url":"https://gw.example/fhir/Observation?x=1"`,
				`"url":"https://gw.example/fhir?_getpages=a"`,
				`"fullUrl":"https://gw.example/fhir/Observation/1"`,
				`"url":"https://gw.example/fhir/Observation?_offset=1"`,
				`"location":"https://gw.example/fhir/Observation/1/_history/1"`,
				`"fullUrl":"http://up:8080/baseR4x/Other/1"`, // another base: not ours
				`"value":5.40`,                                    // decimals keep their spelling
				`"http://up:8080/baseR4/name":`,                   // member names stay
				`"reference":"https://gw.example/fhir/Patient/1"`, // absolute references follow
				`{"text":"https://gw.example/fhir"}`,
				`"see http://up:8080/baseR4/x"`,                        // a URL inside text is text
				`"http:\/\/up:8080\/baseR4\/Patient\/2"`,               // escaped base: left as written
				`"amp":"https://gw.example/fhir/Patient?a=1\u0026b=2"`, // escapes after the base are kept
				`["https://gw.example/fhir#frag", 1, "https://gw.example/fhir/a"]`,
			} {
				assert.Contains(t, out, want)
			}
			// Only the rewritten strings differ.
			assert.Equal(t, strings.Count(in, "\n"), strings.Count(out, "\n"))
		})
	}
	for _, body := range []string{`{"resourceType":"Patient","id":"1"}`, `not json "http://up:8080/baseR4/x`, `{"resourceType":"Bundle"}`, ``, `"http://up:8080/baseR4`} {
		assert.Equal(t, body, string(streamAll(t, []byte(body), readers["one byte"])), "unchanged")
	}
}

// largeSearchset is a search-set Bundle of about size bytes whose
// entries name the upstream in fullUrl and in a reference.
func largeSearchset(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"` + testUpstream + `/Observation?patient=1"}],"entry":[`)
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"fullUrl":"%s/Observation/%d","resource":{"resourceType":"Observation","id":"%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/1"},"valueQuantity":{"value":72.5,"unit":"beats/minute"}},"search":{"mode":"match"}}`, testUpstream, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func TestLinkStreamMatchesReference(t *testing.T) {
	body := largeSearchset(200 << 10) // several windows
	body = append(body[:len(body)-2], []byte(`,{"resource":{"resourceType":"Binary","data":"`+strings.Repeat("QUJD", 20<<10)+`"}}]}`)...)
	for name, r := range readers {
		out := streamAll(t, body, r)
		assert.Equal(t, reference(decode(t, body)), decode(t, out), name)
	}
}

func TestLinkStreamBoundedMemory(t *testing.T) {
	// A string of 8 MB passes through unchanged, and the rest of the
	// body is rewritten as the start was.
	long := `{"a":"` + strings.Repeat("x", 8<<20+10) + `","b":"` + testUpstream + `/x"}`
	out := streamAll(t, []byte(long), readers["whole"])
	assert.True(t, strings.Replace(long, testUpstream, testGateway, 1) == string(out), "the string unchanged, the link after it rewritten")

	s := newLinkStream(io.NopCloser(bytes.NewReader(largeSearchset(4<<20))), testUpstream, testGateway)
	buf := make([]byte, 4096)
	for {
		_, err := s.Read(buf)
		require.LessOrEqual(t, cap(s.in), linkWindow, "the window does not grow for short strings")
		require.LessOrEqual(t, cap(s.out), 2*linkWindow)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
}

// FuzzLinkStream: any input, in any pieces, never panics; valid JSON
// comes out as valid JSON equal to the reference rewrite; input naming no
// upstream comes out byte for byte.
func FuzzLinkStream(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","link":[{"url":"http://up:8080/baseR4/x"}],"entry":[{"fullUrl":"http://up:8080/baseR4/P/1"}]}`), uint8(3))
	f.Add([]byte(`["http://up:8080/baseR4", {"k":["http://up:8080/baseR4?x",{"http://up:8080/baseR4":1}]}]`), uint8(1))
	f.Add([]byte(`{"a":"\"http://up:8080/baseR4/x\\","b":"http://up:8080/baseR4\u002fx"}`), uint8(7))
	f.Fuzz(func(t *testing.T, body []byte, piece uint8) {
		r := func(r io.Reader) io.Reader { return &pieceReader{r: r, n: int(piece%16) + 1} }
		out := streamAll(t, body, r)
		if !bytes.Contains(body, []byte(testUpstream)) && !bytes.Equal(out, body) {
			t.Fatalf("%q changed to %q", body, out)
		}
		if json.Valid(body) {
			if !json.Valid(out) {
				t.Fatalf("valid %q became invalid %q", body, out)
			}
			if bytes.Contains(body, []byte(`\/`)) || bytes.Contains(body, []byte(`\u`)) {
				return // a base written with escapes is left as written
			}
			assert.Equal(t, reference(decode(t, body)), decode(t, out))
		}
	})
}

type pieceReader struct {
	r io.Reader
	n int
}

func (p *pieceReader) Read(b []byte) (int, error) { return p.r.Read(b[:min(len(b), p.n)]) }

// BenchmarkLinkStream rewrites a 10 MB search-set (target >= 200 MB/s,
// allocating a bounded amount whatever the size).
func BenchmarkLinkStream(b *testing.B) {
	body := largeSearchset(10 << 20)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := newLinkStream(io.NopCloser(bytes.NewReader(body)), testUpstream, testGateway)
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{s}, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// A long string (an attachment's data, a Binary's content) passes
// through in pieces as it arrives: the stream holds its window and what
// it has not yet handed on, not the string, and strings after it are
// still rewritten. Read a byte at a time, it takes time in proportion to
// its length, not to the square of it.
func TestLinkStreamHoldsNoLongString(t *testing.T) {
	data := strings.Repeat("QUJD", 1<<20) + `\\\"` + strings.Repeat(`\\`, 1<<10) // 4 MB and escapes
	body := []byte(`{"resourceType":"Binary","url":"` + testUpstream + `/x` + data + `","data":"` + data + `","next":"` + testUpstream + `/Binary/2"}`)
	for name, r := range readers {
		if name == "one byte" {
			continue // below, on a shorter string
		}
		s := newLinkStream(io.NopCloser(r(bytes.NewReader(body))), testUpstream, testGateway)
		var out bytes.Buffer
		buf := make([]byte, 32<<10)
		most := 0
		for {
			n, err := s.Read(buf)
			out.Write(buf[:n])
			most = max(most, cap(s.in)+cap(s.out))
			if err == io.EOF {
				break
			}
			require.NoError(t, err, name)
		}
		assert.LessOrEqual(t, most, 4*linkWindow, "%s: held at most", name)
		assert.Equal(t, reference(decode(t, body)), decode(t, out.Bytes()), name)
	}

	body = []byte(`{"data":"` + strings.Repeat("QUJD", 256<<10) + `","next":"` + testUpstream + `/Binary/2"}`) // 1 MB
	done := make(chan []byte, 1)
	go func() { done <- streamAll(t, body, readers["one byte"]) }()
	select {
	case out := <-done:
		assert.Equal(t, reference(decode(t, body)), decode(t, out))
	case <-time.After(20 * time.Second):
		t.Fatal("a 1 MB string read a byte at a time took more than 20 s")
	}
}
