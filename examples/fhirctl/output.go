package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/fhirwarden/fhirwarden/client"
)

// printEntries prints search entries as one searchset Bundle (-o json),
// one resource a line (-o ndjson) or a table of type, id, version and
// last update (-o table).
func (a *app) printEntries(entries []client.Entry, total *int) error {
	switch a.cfg.output {
	case "ndjson":
		for _, e := range entries {
			var buf bytes.Buffer
			if err := json.Compact(&buf, e.Resource); err != nil {
				return fmt.Errorf("the server's answer is not JSON: %w", err)
			}
			buf.WriteByte('\n')
			if _, err := a.stdout.Write(escapeControls(buf.Bytes())); err != nil {
				return err
			}
		}
		return nil
	case "table":
		return a.printTable(entries)
	}
	out := struct {
		ResourceType string         `json:"resourceType"`
		Type         string         `json:"type"`
		Total        *int           `json:"total,omitempty"`
		Entry        []client.Entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "searchset", Total: total, Entry: entries}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return a.printJSON(data)
}

// printTable prints one line per resource, each cell one line of
// server text (serverLine): a tab or newline in an id cannot add a row
// or shift a column.
func (a *app) printTable(entries []client.Entry) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tID\tVERSION\tLAST UPDATED")
	for _, e := range entries {
		var r struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Meta         struct {
				VersionID   string `json:"versionId"`
				LastUpdated string `json:"lastUpdated"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			return fmt.Errorf("the server's answer is not FHIR JSON: %w", err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", serverLine(r.ResourceType), serverLine(r.ID), serverLine(r.Meta.VersionID), serverLine(r.Meta.LastUpdated))
	}
	return tw.Flush()
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
