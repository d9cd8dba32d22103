package store

import (
	"encoding/json"
	"strconv"
	"time"
)

// Resource is one immutable stored version of a FHIR resource.
type Resource struct {
	// Type is the resource type, e.g. "Patient".
	Type string
	// ID is the logical id.
	ID string
	// Version is the version number, starting at 1.
	Version int
	// LastUpdated is when this version was written.
	LastUpdated time.Time
	// Deleted marks a version that records a deletion; JSON is then nil.
	Deleted bool
	// JSON is the resource as served, with id and meta.versionId/lastUpdated set.
	JSON []byte

	doc map[string]any // JSON decoded once, read-only, used by search
	seq int64          // creation order of the logical resource, for stable results
}

// VersionID returns the version as the string used in meta.versionId and ETags.
func (r *Resource) VersionID() string { return strconv.Itoa(r.Version) }

// Ref returns the relative reference "Type/id".
func (r *Resource) Ref() string { return r.Type + "/" + r.ID }

// Doc returns the decoded JSON of the resource (nil for a deletion). Callers
// must not modify it.
func (r *Resource) Doc() map[string]any { return r.doc }

// newVersion builds a stored version from a decoded resource, setting its id
// and meta, and encoding it.
func newVersion(typ, id string, version int, at time.Time, doc map[string]any, seq int64) (*Resource, error) {
	doc["resourceType"] = typ
	doc["id"] = id
	meta, _ := doc["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = strconv.Itoa(version)
	meta["lastUpdated"] = at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	doc["meta"] = meta
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &Resource{Type: typ, ID: id, Version: version, LastUpdated: at, JSON: raw, doc: doc, seq: seq}, nil
}
