package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/client"
)

// entryWriter writes search results in one -o format as the pages
// come, so fhirctl holds one page rather than every page it has read.
type entryWriter interface {
	// page writes the entries of one page; total is the page's
	// Bundle.total, if any.
	page(entries []client.Entry, total *int) error
	// finish ends the output after the last page read.
	finish() error
}

// entryWriter returns the writer of the -o format.
func (a *app) entryWriter() entryWriter {
	switch a.cfg.output {
	case "ndjson":
		return &ndjsonWriter{w: a.stdout}
	case "table":
		return &tableWriter{w: a.stdout}
	}
	return &bundleWriter{w: a.stdout}
}

// bundleWriter writes one searchset Bundle, pretty-printed: the bytes
// json.Indent gives the whole Bundle, written as the opening with the
// first page, each entry as its page comes, and the closing at the end.
// The total, written before the entries, is the first page's. A search
// that fails after the opening leaves the Bundle unclosed: what was
// written does not parse as a complete Bundle.
type bundleWriter struct {
	w       io.Writer
	opened  bool
	entries int // entries written
}

func (b *bundleWriter) page(entries []client.Entry, total *int) error {
	var buf bytes.Buffer
	if !b.opened {
		b.open(&buf, total)
	}
	for _, e := range entries {
		if err := b.entry(&buf, e); err != nil {
			return err
		}
	}
	_, err := b.w.Write(escapeControls(buf.Bytes()))
	return err
}

// open writes the Bundle up to the entry array's bracket.
func (b *bundleWriter) open(buf *bytes.Buffer, total *int) {
	buf.WriteString("{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"searchset\",\n")
	if total != nil {
		fmt.Fprintf(buf, "  \"total\": %d,\n", *total)
	}
	buf.WriteString(`  "entry": [`)
	b.opened = true
}

// entry writes one entry, indented as an element of the entry array.
func (b *bundleWriter) entry(buf *bytes.Buffer, e client.Entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("the server's answer is not JSON: %w", err)
	}
	if b.entries > 0 {
		buf.WriteByte(',')
	}
	buf.WriteString("\n    ")
	b.entries++
	return json.Indent(buf, data, "    ", "  ")
}

// finish closes the entry array (kept on one line when empty, as
// json.Indent writes it) and the Bundle.
func (b *bundleWriter) finish() error {
	var buf bytes.Buffer
	if !b.opened {
		b.open(&buf, nil)
	}
	if b.entries > 0 {
		buf.WriteString("\n  ")
	}
	buf.WriteString("]\n}\n")
	_, err := b.w.Write(buf.Bytes())
	return err
}

// ndjsonWriter writes one resource a line.
type ndjsonWriter struct{ w io.Writer }

// page writes the page's resources once all of them are checked JSON:
// a page with one bad resource adds no line.
func (n *ndjsonWriter) page(entries []client.Entry, _ *int) error {
	var buf bytes.Buffer
	for _, e := range entries {
		if err := json.Compact(&buf, e.Resource); err != nil {
			return fmt.Errorf("the server's answer is not JSON: %w", err)
		}
		buf.WriteByte('\n')
	}
	_, err := n.w.Write(escapeControls(buf.Bytes()))
	return err
}

func (n *ndjsonWriter) finish() error { return nil }

// tableWriter keeps a row of cells per resource, not the resource: the
// column widths depend on every row, and a cell is at most a line of
// maxServerLine characters.
type tableWriter struct {
	w    io.Writer
	rows []string // tab-separated cells, a newline at the end
}

func (t *tableWriter) page(entries []client.Entry, _ *int) error {
	for _, e := range entries {
		row, err := tableRow(e.Resource)
		if err != nil {
			return err
		}
		t.rows = append(t.rows, row)
	}
	return nil
}

// finish prints the header and the rows, aligned.
func (t *tableWriter) finish() error {
	tw := tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tID\tVERSION\tLAST UPDATED")
	for _, row := range t.rows {
		fmt.Fprint(tw, row)
	}
	return tw.Flush()
}

// tableRow is a resource's type, id, version and last update, each cell
// one line of server text (serverLine): a tab or newline in an id cannot
// add a row or shift a column.
func tableRow(resource []byte) (string, error) {
	var r struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Meta         struct {
			VersionID   string `json:"versionId"`
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(resource, &r); err != nil {
		return "", fmt.Errorf("the server's answer is not FHIR JSON: %w", err)
	}
	return fmt.Sprintf("%s\t%s\t%s\t%s\n", serverLine(r.ResourceType), serverLine(r.ID), serverLine(r.Meta.VersionID), serverLine(r.Meta.LastUpdated)), nil
}

// escapeControls rewrites, in JSON that json.Indent or json.Compact has
// checked, the characters sanitize replaces in plain text (control
// characters, C1 ones such as U+009B, which a terminal reads as CSI,
// included; line separators; bidirectional formatting) and bytes that
// are not UTF-8 as \u escapes. Valid JSON has them only inside strings,
// where the escape stands for the same character (and U+FFFD for a bad
// byte, as decoders read it), so the value printed is the value the
// server sent, yet a resource cannot rewrite the terminal it is shown on.
func escapeControls(data []byte) []byte {
	var out []byte // nil while nothing needs escaping
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if !terminalControl(r, n) {
			if out != nil {
				out = append(out, data[i:i+n]...)
			}
			i += n
			continue
		}
		if out == nil {
			out = append(make([]byte, 0, len(data)+64), data[:i]...)
		}
		out = fmt.Appendf(out, `\u%04x`, r)
		i += n
	}
	if out == nil {
		return data
	}
	return out
}

// terminalControl reports whether the rune r, n bytes long, is one
// escapeControls escapes. JSON's own white space is not.
func terminalControl(r rune, n int) bool {
	switch {
	case r == '\n' || r == '\t' || r == '\r' || r == ' ':
		return false
	case r < utf8.RuneSelf:
		return r < ' ' || r == 0x7f
	case r == utf8.RuneError && n == 1:
		return true
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control)
}
