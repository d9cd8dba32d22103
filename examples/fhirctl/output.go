package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/tabwriter"

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
			if _, err := a.stdout.Write(buf.Bytes()); err != nil {
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

// printTable prints one line per resource.
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", sanitize(r.ResourceType), sanitize(r.ID), sanitize(r.Meta.VersionID), sanitize(r.Meta.LastUpdated))
	}
	return tw.Flush()
}
