package bulk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
)

// Handler serves the status and file endpoints below Path: GET and
// DELETE Path{job}, GET Path{job}/{Type}.ndjson.
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path+"{job}", e.status)
	mux.HandleFunc("DELETE "+Path+"{job}", e.delete)
	mux.HandleFunc("GET "+Path+"{job}/{file}", e.download)
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) {
		e.writeOutcome(w, http.StatusNotFound, "not-found", "no such export resource")
	})
	return mux
}

// manifest is the body of a completed job's status (Bulk Data IG).
type manifest struct {
	TransactionTime     string `json:"transactionTime"`
	Request             string `json:"request"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []file `json:"output"`
	Error               []file `json:"error"`
}

// status answers 202 with progress while the job runs, 500 when it
// failed, and 200 with the manifest when it is complete.
func (e *Exporter) status(w http.ResponseWriter, r *http.Request) {
	j := e.authorizedJob(w, r)
	if j == nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.failed != nil:
		e.writeOutcome(w, http.StatusInternalServerError, "exception", j.failed.Error())
	case !j.complet:
		w.Header().Set("X-Progress", fmt.Sprintf("exported %d of %d types", j.done, len(j.types)))
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusAccepted)
	default:
		m := manifest{TransactionTime: j.created.UTC().Format(time.RFC3339Nano), Request: j.request,
			RequiresAccessToken: true, Output: append([]file{}, j.files...), Error: []file{}}
		body, _ := json.Marshal(m) // strings, ints and bools always marshal
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Expires", j.created.Add(jobLifetime).UTC().Format(http.TimeFormat))
		_, _ = w.Write(body)
	}
}

// delete cancels the job (running or done) and removes its files.
func (e *Exporter) delete(w http.ResponseWriter, r *http.Request) {
	j := e.authorizedJob(w, r)
	if j == nil {
		return
	}
	e.remove(j.id)
	w.WriteHeader(http.StatusAccepted)
}

// download serves one NDJSON file of a completed job.
func (e *Exporter) download(w http.ResponseWriter, r *http.Request) {
	j := e.authorizedJob(w, r)
	if j == nil {
		return
	}
	name := r.PathValue("file")
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, f := range j.files {
		if f.name == name {
			w.Header().Set("Content-Type", "application/fhir+ndjson")
			w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
			_, _ = w.Write(f.data)
			return
		}
	}
	e.writeOutcome(w, http.StatusNotFound, "not-found", "this export has no file "+name)
}

// authorizedJob authenticates the request's credentials (Bearer, or
// DPoP with a proof for this URL and method) and returns the job of the
// path if the token's client started it. Otherwise it answers (401 for
// missing or bad credentials, 503 when a proof cannot be recorded now,
// 404 for a job that is not the caller's) and returns nil. The
// credentials are checked before the job is looked up, and the same way
// whatever the job: a job of another client is answered as a missing
// one.
func (e *Exporter) authorizedJob(w http.ResponseWriter, r *http.Request) *job {
	pr, refused := e.cfg.Credentials.Authenticate(r)
	if refused != nil {
		e.cfg.Credentials.Challenge(w.Header(), "bulk", refused)
		code := "login"
		if refused.Status != http.StatusUnauthorized {
			code = "transient"
		}
		e.writeOutcome(w, refused.Status, code, "the export's files and status need the access token of the client that started it: "+refused.Message)
		return nil
	}
	j := e.lookup(r.PathValue("job"), pr)
	if j == nil {
		e.writeOutcome(w, http.StatusNotFound, "not-found", "no export job with this id for this client")
	}
	return j
}

// writeOutcome writes an OperationOutcome, the IG's error body.
func (e *Exporter) writeOutcome(w http.ResponseWriter, status int, code, diagnostics string) {
	body := fhirauth.OperationOutcome(e.cfg.Version, code, diagnostics)
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// issueCode maps a status to an OperationOutcome issue code.
func issueCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not-found"
	case http.StatusForbidden:
		return "forbidden"
	}
	return "invalid"
}
