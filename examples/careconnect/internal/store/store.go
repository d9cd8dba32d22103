package store

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"
)

// maxResourceBytes bounds one resource's JSON.
const maxResourceBytes = 4 << 20

// idPattern is the FHIR id grammar.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ValidID reports whether id is a valid FHIR logical id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Precondition guards a write. The zero value guards nothing.
type Precondition struct {
	// IfMatch, when non-zero, is the version the current resource must have.
	IfMatch int
	// Stored, when set, is called with the current version before it is
	// replaced, patched or deleted (with nil when an update creates the
	// resource: nothing, or only a deletion, is stored); an error refuses
	// the write (use it for "the stored copy must be in the caller's
	// compartment" and "may this caller create by update?"). An error
	// wrapping ErrNotFound is answered like a resource that does not exist
	// (existence hiding): Stored is asked before IfMatch, so a refused
	// caller learns no version either, and also, with nil, before a
	// deleted resource is patched or deleted again (which would otherwise
	// answer "gone" or succeed, telling that the resource once existed).
	// An update of a deleted resource also asks it about each earlier
	// version: if it refuses one, the update creates a new resource (see
	// Update) rather than continue a history the caller may not know.
	Stored func(*Resource) error
	// Result, when set, is called with the version about to be written; an
	// error refuses the write (use it for "the new content must be in the
	// caller's compartment", e.g. after a patch).
	Result func(*Resource) error
}

// Page is one page of search results.
type Page struct {
	// Total is the number of matches (visible ones only) across all pages.
	Total int
	// Matches are the matches of this page, in stable order.
	Matches []*Resource
	// Included are resources added by _include and _revinclude.
	Included []*Resource
}

// Ops are the interactions of the store. *Store implements them, each call
// atomic on its own; inside Atomic, a transaction implements them with all
// calls taking effect together or not at all.
type Ops interface {
	Create(typ string, body []byte, pre Precondition) (*Resource, error)
	Read(typ, id string) (*Resource, error)
	VRead(typ, id string, version int) (*Resource, error)
	Update(typ, id string, body []byte, pre Precondition) (res *Resource, created bool, err error)
	Patch(typ, id string, patch []byte, pre Precondition) (*Resource, error)
	Delete(typ, id string, pre Precondition) (*Resource, error)
	History(typ, id string) ([]*Resource, error)
	Search(q Query, visible func(*Resource) bool) (Page, error)
}

// Store is an in-memory, versioned FHIR resource store. It is safe for
// concurrent use.
type Store struct {
	mu sync.RWMutex
	d  *data
}

var _ Ops = (*Store)(nil)

// Option configures a Store.
type Option func(*data)

// WithClock sets the clock used for meta.lastUpdated.
func WithClock(now func() time.Time) Option { return func(d *data) { d.now = now } }

// WithIDs sets the generator of server-assigned ids.
func WithIDs(next func() string) Option { return func(d *data) { d.newID = next } }

// New returns an empty store validating resources with v.
func New(v *Validator, opts ...Option) (*Store, error) {
	if v == nil {
		return nil, fmt.Errorf("store: a Validator is required")
	}
	d := &data{v: v, byType: map[string]map[string][]*Resource{}, now: time.Now, newID: randomID}
	for _, o := range opts {
		o(d)
	}
	return &Store{d: d}, nil
}

// Validator returns the store's validator.
func (s *Store) Validator() *Validator { return s.d.v }

// Create stores a new resource with a server-assigned id.
func (s *Store) Create(typ string, body []byte, pre Precondition) (*Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Create(typ, body, pre)
}

// Put stores body under its own id (used to load sample data).
func (s *Store) Put(typ string, body []byte) (*Resource, error) {
	var probe struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &probe); err != nil || probe.ID == "" {
		return nil, fmt.Errorf("%w: %s without an id", ErrInvalid, typ)
	}
	r, _, err := s.Update(typ, probe.ID, body, Precondition{})
	return r, err
}

// Read returns the current version.
func (s *Store) Read(typ, id string) (*Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.d.Read(typ, id)
}

// VRead returns one version.
func (s *Store) VRead(typ, id string, version int) (*Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.d.VRead(typ, id, version)
}

// Update replaces (or creates, with the client's id) a resource. An update
// of a deleted resource continues its history when pre.Stored accepts
// every earlier version; otherwise it creates a new resource under that id
// (version 1, created is true) and the deleted versions are dropped, so
// that a caller who may not know them learns nothing about them.
func (s *Store) Update(typ, id string, body []byte, pre Precondition) (*Resource, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Update(typ, id, body, pre)
}

// Patch applies a JSON Patch (RFC 6902) to the current version.
func (s *Store) Patch(typ, id string, patch []byte, pre Precondition) (*Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Patch(typ, id, patch, pre)
}

// Delete records a deletion; deleting a deleted resource is a no-op
// returning (nil, nil).
func (s *Store) Delete(typ, id string, pre Precondition) (*Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Delete(typ, id, pre)
}

// History returns all versions of a resource, newest first.
func (s *Store) History(typ, id string) ([]*Resource, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.d.History(typ, id)
}

// Search runs q; visible, when set, hides resources the caller may not see
// (hidden ones are neither counted nor included).
func (s *Store) Search(q Query, visible func(*Resource) bool) (Page, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.d.Search(q, visible)
}

// Atomic runs fn with exclusive access to the store: the Ops it receives
// see their own writes, and if fn returns an error every write made through
// them is undone. This is a FHIR transaction.
func (s *Store) Atomic(fn func(Ops) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.d.snapshot()
	if err := fn(s.d); err != nil {
		s.d.restore(snap)
		return err
	}
	return nil
}

// NewID returns a fresh random id (a UUID) of the kind the store assigns.
func NewID() string { return randomID() }

// randomID returns a random UUID (version 4) as a server-assigned id.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// decodeResource parses a resource body, preserving numbers exactly, and
// checks its resourceType.
func decodeResource(typ string, body []byte) (map[string]any, error) {
	if len(body) > maxResourceBytes {
		return nil, fmt.Errorf("%w: resource larger than %d bytes", ErrInvalid, maxResourceBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the resource", ErrInvalid)
	}
	if doc == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	rt, _ := doc["resourceType"].(string)
	if rt != typ {
		return nil, fmt.Errorf("%w: resourceType %q does not match %s", ErrInvalid, rt, typ)
	}
	return doc, nil
}
