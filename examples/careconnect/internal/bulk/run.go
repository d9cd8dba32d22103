package bulk

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
)

// run exports the job's types one by one, pausing cfg.Step after each.
func (e *Exporter) run(ctx context.Context, j *job) {
	for _, t := range j.types {
		data, count, err := e.exportType(j, t)
		j.mu.Lock()
		if err != nil {
			j.failed = fmt.Errorf("exporting %s: %w", t, err)
			j.mu.Unlock()
			return
		}
		if count > 0 {
			name := t + ".ndjson"
			j.files = append(j.files, file{Type: t, URL: e.cfg.RootURL + Path + j.id + "/" + name, Count: count, name: name, data: data})
		}
		j.done++
		j.mu.Unlock()
		if e.cfg.Step > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(e.cfg.Step):
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
	j.mu.Lock()
	j.complet = true
	j.mu.Unlock()
}

// exportType returns the NDJSON of type t's current resources that the
// job selects (changed after _since; in a member's compartment for a
// Group export) and how many there are.
func (e *Exporter) exportType(j *job, t string) ([]byte, int, error) {
	var buf bytes.Buffer
	count := 0
	keep := func(r *store.Resource) bool {
		return (j.since.IsZero() || r.LastUpdated.After(j.since)) && e.memberOf(j, r)
	}
	for offset := 0; ; {
		page, err := e.cfg.Store.Search(store.Query{Type: t, Count: store.MaxCount, Offset: offset}, keep)
		if err != nil {
			return nil, 0, err
		}
		for _, r := range page.Matches {
			buf.Write(r.JSON)
			buf.WriteByte('\n')
			count++
		}
		offset += len(page.Matches)
		if len(page.Matches) == 0 || offset >= page.Total {
			return buf.Bytes(), count, nil
		}
	}
}

// memberOf reports whether r belongs to a Group export's members (always
// true for other exports).
func (e *Exporter) memberOf(j *job, r *store.Resource) bool {
	if j.level != "group" {
		return true
	}
	for _, id := range j.members {
		if in, err := fhirspec.InPatientCompartment(e.cfg.Version, r.JSON, id); err == nil && in {
			return true
		}
	}
	return false
}
