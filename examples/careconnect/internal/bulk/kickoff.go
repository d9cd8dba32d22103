package bulk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
	"github.com/fhirwarden/fhirwarden/token"
)

// The kick-off parameters this server understands.
var knownParams = map[string]bool{"_type": true, "_since": true, "_outputFormat": true}

// ndjsonFormats are the accepted _outputFormat values.
var ndjsonFormats = []string{"application/fhir+ndjson", "application/ndjson", "ndjson"}

// KickOff serves GET [base]/$export, [base]/Patient/$export and
// [base]/Group/{id}/$export: it checks the request, starts the job and
// answers 202 with the status URL in Content-Location.
func (e *Exporter) KickOff(w http.ResponseWriter, r *http.Request) {
	pr := e.cfg.Principal(r)
	if pr == nil || pr.ClientID == "" {
		e.writeOutcome(w, http.StatusUnauthorized, "login", "an export needs the access token of an identified client")
		return
	}
	j, status, err := e.newJob(r, pr)
	if err != nil {
		e.writeOutcome(w, status, issueCode(status), err.Error())
		return
	}
	if !e.add(j) {
		e.writeOutcome(w, http.StatusTooManyRequests, "throttled", fmt.Sprintf("%d export jobs are kept at once; delete a finished one (DELETE its status URL) or wait", maxJobs))
		return
	}
	ctx, cancel := context.WithCancel(e.ctx)
	j.cancel = cancel
	go e.run(ctx, j)
	w.Header().Set("Content-Location", e.cfg.RootURL+Path+j.id)
	w.WriteHeader(http.StatusAccepted)
}

// newJob checks the kick-off request and describes its job.
func (e *Exporter) newJob(r *http.Request, pr *token.Principal) (*job, int, error) {
	if !respondAsync(r.Header) {
		return nil, http.StatusBadRequest, fmt.Errorf("an export is asynchronous: send Prefer: respond-async")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("malformed query string")
	}
	for k := range q {
		if !knownParams[k] {
			return nil, http.StatusBadRequest, fmt.Errorf("export parameter %s is not supported (supported: _type, _since, _outputFormat)", k)
		}
	}
	if f := q.Get("_outputFormat"); f != "" && !slices.Contains(ndjsonFormats, f) {
		return nil, http.StatusBadRequest, fmt.Errorf("_outputFormat %q is not supported; use application/fhir+ndjson", f)
	}
	j := &job{id: newJobID(), clientID: pr.ClientID, issuer: pr.Issuer, created: e.now(), cancel: func() {},
		request: e.cfg.RootURL + r.URL.RequestURI()}
	if s := q.Get("_since"); s != "" {
		if j.since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("_since %q is not a FHIR instant (e.g. 2024-01-02T03:04:05Z)", s)
		}
	}
	if status, err := e.scopeJob(r, j); err != nil {
		return nil, status, err
	}
	types, err := e.exportTypes(j.level, q["_type"], pr.Scopes)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	j.types = types
	return j, 0, nil
}

// scopeJob sets the job's level from the path, and the member patients
// of a Group export.
func (e *Exporter) scopeJob(r *http.Request, j *job) (int, error) {
	switch gid := r.PathValue("id"); {
	case gid != "":
		g, err := e.cfg.Store.Read("Group", gid)
		if err != nil {
			return http.StatusNotFound, fmt.Errorf("Group/%s is not known", gid)
		}
		j.level, j.members = "group", groupMembers(g)
	case strings.Contains(r.URL.Path, "/Patient/$export"):
		j.level = "patient"
	default:
		j.level = "system"
	}
	return 0, nil
}

// exportTypes returns the types to export: _type (comma-separated, may
// repeat) or every type the store holds (compartment types for patient
// and group exports). Every type must be one the token's system/ scopes
// let it read without constraints: the middleware has checked _type, and
// a type it could not check is refused rather than exported.
func (e *Exporter) exportTypes(level string, param []string, s scope.Set) ([]string, error) {
	var types []string
	for _, v := range param {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if !e.cfg.Store.Validator().KnownType(t) {
				return nil, fmt.Errorf("_type %q is not a resource type this server holds", t)
			}
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	explicit := len(types) > 0
	if !explicit {
		types = slices.Clone(e.cfg.Store.Validator().Types())
	}
	var out []string
	for _, t := range types {
		if level != "system" && !inCompartment(e.cfg.Version, t) {
			if explicit {
				return nil, fmt.Errorf("_type %s is not in the patient compartment, so a %s export has none", t, level)
			}
			continue
		}
		if s.Permits(scope.System, t, scope.Read|scope.Search) != scope.Unconstrained {
			return nil, fmt.Errorf("the token's system/ scopes do not let it read every %s resource; name the types it may read in _type", t)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// inCompartment reports whether type t can be in a patient compartment.
func inCompartment(v fhirspec.Version, t string) bool {
	_, ok := fhirspec.PatientCompartment(v, t)
	return ok
}

// groupMembers returns the ids of the Patients a Group's members name.
func groupMembers(g *store.Resource) []string {
	var ids []string
	members, _ := g.Doc()["member"].([]any)
	for _, m := range members {
		entity, _ := m.(map[string]any)["entity"].(map[string]any)
		ref, _ := entity["reference"].(string)
		if typ, id, ok := store.SplitReference(ref); ok && typ == "Patient" {
			ids = append(ids, id)
		}
	}
	return ids
}

// respondAsync reports whether the Prefer header asks for respond-async.
func respondAsync(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "respond-async") {
				return true
			}
		}
	}
	return false
}
