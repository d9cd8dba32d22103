package bulk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/credential"
	"github.com/fhirwarden/fhirwarden/examples/careconnect/internal/store"
	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/token"
)

// Path is where the status and file endpoints are served, below the
// server's root URL.
const Path = "/bulk/"

// maxJobs bounds the jobs kept at once; a kick-off beyond it is answered
// 429 until a job is deleted or expires.
const maxJobs = 16

// jobLifetime is how long a job and its files are kept after kick-off.
const jobLifetime = time.Hour

// Config configures an Exporter.
type Config struct {
	// Store is exported from.
	Store *store.Store
	// Version is the FHIR version of the store (for compartment membership).
	Version fhirspec.Version
	// Authenticator verifies the bearer tokens of status and file
	// requests when Credentials is nil.
	Authenticator token.Authenticator
	// Credentials, when set, authenticates status and file requests
	// instead, as the middleware in front of the kick-off does (its DPoP
	// scheme included).
	Credentials *credential.Checker
	// RootURL is the server's public root URL (scheme://host[:port]); the
	// status and file URLs are below RootURL + Path.
	RootURL string
	// Step is the pause after each exported type, so that clients see the
	// job in progress (default 0: as fast as the store answers).
	Step time.Duration
	// Principal returns the caller of an authorized kick-off request
	// (normally middleware.PrincipalFrom of its context).
	Principal func(r *http.Request) *token.Principal
}

// Exporter runs export jobs. Create it with New; Close stops its jobs.
type Exporter struct {
	cfg    Config
	now    func() time.Time
	ctx    context.Context
	cancel context.CancelFunc

	mu   sync.Mutex
	jobs map[string]*job
}

// New returns an Exporter.
func New(cfg Config) (*Exporter, error) {
	if cfg.Store == nil || (cfg.Authenticator == nil && cfg.Credentials == nil) || cfg.Principal == nil || !cfg.Version.Valid() {
		return nil, errors.New("bulk: Store, Version, Authenticator or Credentials, and Principal are required")
	}
	if cfg.Credentials == nil {
		c, err := credential.New(cfg.Authenticator, nil)
		if err != nil {
			return nil, err
		}
		cfg.Credentials = c
	}
	cfg.RootURL = strings.TrimRight(cfg.RootURL, "/")
	ctx, cancel := context.WithCancel(context.Background())
	return &Exporter{cfg: cfg, now: time.Now, ctx: ctx, cancel: cancel, jobs: map[string]*job{}}, nil
}

// Close cancels every running job.
func (e *Exporter) Close() { e.cancel() }

// job is one export.
type job struct {
	id       string
	clientID string
	issuer   string
	request  string // the kick-off URL
	since    time.Time
	types    []string
	members  []string // Group export: the member patient ids; nil otherwise
	level    string   // "system", "patient" or "group"
	created  time.Time
	cancel   context.CancelFunc

	mu      sync.Mutex
	done    int // types exported so far
	files   []file
	errs    []file
	failed  error
	complet bool
}

// file is one NDJSON output (or error) file.
type file struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count int    `json:"count"`
	name  string
	data  []byte
}

// newJobID returns 128 random bits in hex.
func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// add stores j, expiring old jobs first; false when the exporter is full.
func (e *Exporter) add(j *job) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, old := range e.jobs {
		if e.now().Sub(old.created) > jobLifetime {
			old.cancel()
			delete(e.jobs, id)
		}
	}
	if len(e.jobs) >= maxJobs {
		return false
	}
	e.jobs[j.id] = j
	return true
}

// lookup returns the job id started by the principal, or nil: a job of
// another client is answered like a missing one.
func (e *Exporter) lookup(id string, pr *token.Principal) *job {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[id]
	if j == nil || pr == nil || pr.ClientID == "" || pr.ClientID != j.clientID || pr.Issuer != j.issuer {
		return nil
	}
	if e.now().Sub(j.created) > jobLifetime {
		j.cancel()
		delete(e.jobs, id)
		return nil
	}
	return j
}

// remove cancels and forgets job id.
func (e *Exporter) remove(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if j := e.jobs[id]; j != nil {
		j.cancel()
		delete(e.jobs, id)
	}
}
