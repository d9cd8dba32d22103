package main

import (
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirwarden/fhirwarden/fhirauth"
	"github.com/fhirwarden/fhirwarden/token"
)

// identity is who started a Bulk Data export job: the verified token's
// issuer, client and subject. Only a request whose token has all three
// equal may poll, cancel or download the job.
type identity struct{ issuer, client, subject string }

func identityOf(p *token.Principal) identity {
	return identity{issuer: p.Issuer, client: p.ClientID, subject: p.Subject}
}

// usable reports whether the identity names someone: a token with
// neither client nor subject would share its jobs with every other such
// token of the issuer, so none are recorded for it.
func (id identity) usable() bool {
	return id.issuer != "" && (id.client != "" || id.subject != "")
}

// job is an upstream export job the gateway passed the kick-off of.
type job struct {
	owner    identity
	status   jobKey   // the status URL, as the client addresses it
	files    []jobKey // the manifest's file URLs, as rewritten to the gateway
	binaries []string // the paths of the Binary resources among files
	kickoff  *fhirauth.Request
	expires  time.Time
}

// jobKey is a URL of a job as requests address it: the decoded path and
// the raw query, compared exactly (another query or another case is
// another URL).
type jobKey struct{ path, query string }

func keyOf(u *url.URL) jobKey { return jobKey{path: u.Path, query: u.RawQuery} }

// jobFile is a file URL of a manifest; binary is the path of the Binary
// resource it reads ("" when it is no Binary read).
type jobFile struct {
	key    jobKey
	binary string
}

// binaryPath is the path of the Binary resource id under prefix
// ("[base]/Binary/"), as the job store keys it: an id of digits alone by
// its number, since HAPI, which gives export files such ids, reads
// Binary/0123 as its Binary/123.
func binaryPath(prefix, id string) string {
	if id != "" && strings.Trim(id, "0123456789") == "" && id[0] == '0' {
		if id = strings.TrimLeft(id, "0"); id == "" {
			id = "0"
		}
	}
	return prefix + id
}

// jobURL is what a recorded URL leads to.
type jobURL struct {
	job  *job
	file bool // a file of the manifest, not the status URL
}

// jobLimits bound the memory the job records hold.
type jobLimits struct {
	ttl      time.Duration // how long a job is kept after its kick-off
	max      int           // jobs in all (pending kick-offs included)
	perOwner int           // jobs of one identity
	files    int           // file URLs in all
}

var (
	jobLimitsMu      sync.Mutex
	defaultJobLimits = jobLimits{ttl: 24 * time.Hour, max: 1000, perOwner: 10, files: 100_000}
)

// currentJobLimits returns the limits in force (tests shorten them).
func currentJobLimits() jobLimits {
	jobLimitsMu.Lock()
	defer jobLimitsMu.Unlock()
	return defaultJobLimits
}

// jobStore holds the export jobs of this gateway process, in memory: a
// poll that reaches another replica finds nothing there.
type jobStore struct {
	limits jobLimits
	now    func() time.Time

	// recorded is len(urls): while it is 0 (no export running) a request
	// costs one atomic load here.
	recorded atomic.Int64

	mu   sync.RWMutex
	urls map[jobKey]jobURL
	// binaries maps the path of a Binary resource that is a job's file
	// to its job: the resource is also read by other URLs (another
	// query, HEAD, its history), none of which another client may use.
	binaries map[string]*job
	jobs     map[*job]struct{}
	owned    map[identity]int // jobs and pending kick-offs per identity
	pending  int              // kick-offs sent upstream, not answered yet
	files    int
}

func newJobStore(l jobLimits) *jobStore {
	return &jobStore{limits: l, now: time.Now, urls: map[jobKey]jobURL{}, binaries: map[string]*job{},
		jobs: map[*job]struct{}{}, owned: map[identity]int{}}
}

// lookup returns the live job a request URL belongs to, if any.
func (s *jobStore) lookup(u *url.URL) (jobURL, bool) {
	if s.recorded.Load() == 0 {
		return jobURL{}, false
	}
	s.mu.RLock()
	ju, ok := s.urls[keyOf(u)]
	s.mu.RUnlock()
	if !ok || !s.now().Before(ju.job.expires) {
		return jobURL{}, false
	}
	return ju, true
}

// binaryAt returns the live job one of whose files is the Binary
// resource at path ([base]/Binary/[id], see binaryOf).
func (s *jobStore) binaryAt(path string) (*job, bool) {
	if s.recorded.Load() == 0 {
		return nil, false
	}
	s.mu.RLock()
	j, ok := s.binaries[path]
	s.mu.RUnlock()
	if !ok || !s.now().Before(j.expires) {
		return nil, false
	}
	return j, true
}

// holdsBinaries reports whether a live job has a file that is a Binary
// resource. An expired job found on the way is swept, so that the
// requests this refuses pass again once the jobs are gone.
func (s *jobStore) holdsBinaries() bool {
	if s.recorded.Load() == 0 {
		return false
	}
	s.mu.RLock()
	n, expired := len(s.binaries), false
	for _, j := range s.binaries {
		expired = !s.now().Before(j.expires)
		break
	}
	s.mu.RUnlock()
	if !expired {
		return n > 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	return len(s.binaries) > 0
}

// reserve makes room for a kick-off of id before it is sent upstream;
// false when the bounds are reached. The caller ends the reservation
// with record or release.
func (s *jobStore) reserve(id identity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	if len(s.jobs)+s.pending >= s.limits.max || s.owned[id] >= s.limits.perOwner {
		return false
	}
	s.pending++
	s.owned[id]++
	return true
}

// release ends a reservation that started no job.
func (s *jobStore) release(id identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	s.disown(id)
}

// record turns id's reservation into a job whose status URL is status,
// started by kickoff (decided again for each of its owner's requests).
// It reports false, and leaves the reservation to release, when status
// is a URL of another identity's live job: an upstream answers an
// identical kick-off with the job it runs already (HAPI does), and that
// job stays its starter's alone.
func (s *jobStore) record(id identity, status jobKey, kickoff *fhirauth.Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.urls[status]; ok {
		if old.job.owner != id && s.now().Before(old.job.expires) {
			return false
		}
		// The same client's again, or an expired one: the older is gone.
		s.forgetLocked(old.job)
	}
	s.pending--
	j := &job{owner: id, status: status, kickoff: kickoff, expires: s.now().Add(s.limits.ttl)}
	s.jobs[j] = struct{}{}
	s.urls[status] = jobURL{job: j}
	s.recorded.Store(int64(len(s.urls)))
	return true
}

// addFiles records the file URLs of j's manifest; it reports how many
// did not fit in the bound and were left out.
func (s *jobStore) addFiles(j *job, files []jobFile) (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, live := s.jobs[j]; !live {
		return 0
	}
	for _, f := range files {
		k := f.key
		cur, ok := s.urls[k]
		holder, held := s.binaries[f.binary] // "" is never held
		switch {
		case (ok && cur.job != j) || (held && holder != j):
			dropped++ // another job's URL (or Binary) is not this one's to take
			continue
		case ok:
			continue
		case s.files >= s.limits.files:
			dropped++
			continue
		}
		s.urls[k] = jobURL{job: j, file: true}
		j.files = append(j.files, k)
		s.files++
		if f.binary != "" && !held {
			s.binaries[f.binary] = j
			j.binaries = append(j.binaries, f.binary)
		}
	}
	s.recorded.Store(int64(len(s.urls)))
	return dropped
}

// forget drops j and its files (its cancellation succeeded).
func (s *jobStore) forget(j *job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked(j)
}

func (s *jobStore) forgetLocked(j *job) {
	if _, live := s.jobs[j]; !live {
		return
	}
	delete(s.jobs, j)
	delete(s.urls, j.status)
	for _, k := range j.files {
		delete(s.urls, k)
	}
	for _, b := range j.binaries {
		delete(s.binaries, b)
	}
	s.files -= len(j.files)
	s.disown(j.owner)
	s.recorded.Store(int64(len(s.urls)))
}

func (s *jobStore) disown(id identity) {
	if s.owned[id] <= 1 {
		delete(s.owned, id)
		return
	}
	s.owned[id]--
}

// sweep drops the expired jobs. It runs before every kick-off, so
// expired jobs never keep a new one out; at most limits.max are looked
// at.
func (s *jobStore) sweep() {
	now := s.now()
	for j := range s.jobs {
		if !now.Before(j.expires) {
			s.forgetLocked(j)
		}
	}
}
