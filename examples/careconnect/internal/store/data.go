package store

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// data is the store's state and the unlocked implementation of Ops; Store
// wraps each call in its lock, Atomic hands it out while holding the lock.
type data struct {
	v      *Validator
	now    func() time.Time
	newID  func() string
	byType map[string]map[string][]*Resource // type -> id -> versions, oldest first
	seq    int64
}

type snapshot struct {
	byType map[string]map[string][]*Resource
	seq    int64
}

// snapshot copies the indexes (versions are immutable, so sharing them is safe).
func (d *data) snapshot() snapshot {
	cp := make(map[string]map[string][]*Resource, len(d.byType))
	for t, ids := range d.byType {
		m := make(map[string][]*Resource, len(ids))
		for id, vs := range ids {
			m[id] = vs[:len(vs):len(vs)] // appends after this copy never touch the snapshot
		}
		cp[t] = m
	}
	return snapshot{byType: cp, seq: d.seq}
}

func (d *data) restore(s snapshot) { d.byType, d.seq = s.byType, s.seq }

func (d *data) checkType(typ string) error {
	if !d.v.KnownType(typ) {
		return fmt.Errorf("%w: %q", ErrUnknownType, typ)
	}
	return nil
}

func (d *data) checkTypeID(typ, id string) error {
	if err := d.checkType(typ); err != nil {
		return err
	}
	if !ValidID(id) {
		return fmt.Errorf("%w: %q is not a valid id", ErrInvalid, id)
	}
	return nil
}

func (d *data) versions(typ, id string) []*Resource { return d.byType[typ][id] }

func (d *data) current(typ, id string) *Resource {
	vs := d.versions(typ, id)
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// write validates a new version and stores it after vs, the versions of
// typ/id it continues (nil for a new resource, which then replaces any
// versions stored under that id).
func (d *data) write(typ, id string, vs []*Resource, doc map[string]any, pre Precondition) (*Resource, error) {
	version, seq := 1, d.seq+1
	if len(vs) > 0 {
		version = vs[len(vs)-1].Version + 1
		seq = vs[0].seq
	}
	r, err := newVersion(typ, id, version, d.now(), doc, seq)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := d.v.Validate(typ, r.JSON); err != nil {
		return nil, err
	}
	if pre.Result != nil {
		if err := pre.Result(r); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrForbidden, err)
		}
	}
	d.seq = max(d.seq, seq)
	if d.byType[typ] == nil {
		d.byType[typ] = map[string][]*Resource{}
	}
	d.byType[typ][id] = append(vs, r)
	return r, nil
}

// checkStored applies Stored and IfMatch to the current version cur of
// typ/id (nil if none), in that order: a caller the Stored check refuses
// learns nothing about the version. A Stored error wrapping ErrNotFound
// (existence hiding) is answered exactly like a resource that does not
// exist.
func checkStored(typ, id string, cur *Resource, pre Precondition) error {
	if pre.Stored != nil {
		stored := cur
		if stored != nil && stored.Deleted {
			stored = nil
		}
		if err := pre.Stored(stored); err != nil {
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%w: %s/%s", ErrNotFound, typ, id)
			}
			return fmt.Errorf("%w: %v", ErrForbidden, err)
		}
	}
	if pre.IfMatch != 0 && (cur == nil || cur.Version != pre.IfMatch) {
		have := "none"
		if cur != nil {
			have = cur.VersionID()
		}
		return fmt.Errorf("%w: If-Match version %d, current version %s", ErrVersionConflict, pre.IfMatch, have)
	}
	return nil
}

// hideDeleted asks pre.Stored about a deleted typ/id (with nil, as nothing
// is stored) and, when it hides existence (an error wrapping ErrNotFound),
// answers as for a resource that never existed: "gone" or a no-op delete
// would tell the caller that it once did. Other refusals are left to the
// caller, as a deleted resource is not written.
func hideDeleted(typ, id string, pre Precondition) error {
	if pre.Stored == nil {
		return nil
	}
	if err := pre.Stored(nil); errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s/%s", ErrNotFound, typ, id)
	}
	return nil
}

func (d *data) Create(typ string, body []byte, pre Precondition) (*Resource, error) {
	if err := d.checkType(typ); err != nil {
		return nil, err
	}
	doc, err := decodeResource(typ, body)
	if err != nil {
		return nil, err
	}
	id := d.newID()
	for d.current(typ, id) != nil {
		id = d.newID()
	}
	return d.write(typ, id, nil, doc, Precondition{Result: pre.Result})
}

func (d *data) Read(typ, id string) (*Resource, error) {
	if err := d.checkTypeID(typ, id); err != nil {
		return nil, err
	}
	cur := d.current(typ, id)
	switch {
	case cur == nil:
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, typ, id)
	case cur.Deleted:
		return nil, fmt.Errorf("%w: %s/%s", ErrGone, typ, id)
	}
	return cur, nil
}

func (d *data) VRead(typ, id string, version int) (*Resource, error) {
	if err := d.checkTypeID(typ, id); err != nil {
		return nil, err
	}
	vs := d.versions(typ, id)
	if version < 1 || version > len(vs) {
		return nil, fmt.Errorf("%w: %s/%s/_history/%d", ErrNotFound, typ, id, version)
	}
	r := vs[version-1]
	if r.Deleted {
		return nil, fmt.Errorf("%w: %s/%s/_history/%d", ErrGone, typ, id, version)
	}
	return r, nil
}

func (d *data) Update(typ, id string, body []byte, pre Precondition) (*Resource, bool, error) {
	if err := d.checkTypeID(typ, id); err != nil {
		return nil, false, err
	}
	doc, err := decodeResource(typ, body)
	if err != nil {
		return nil, false, err
	}
	if bodyID, _ := doc["id"].(string); bodyID != id {
		return nil, false, fmt.Errorf("%w: resource id %q does not match the URL id %q", ErrInvalid, bodyID, id)
	}
	vs := d.versions(typ, id)
	cur := d.current(typ, id)
	if cur != nil && cur.Deleted && !knowsLineage(vs, pre) {
		// Re-created as a new resource: version 1, 201, If-Match against
		// nothing, exactly as for an id never used (see knowsLineage).
		vs, cur = nil, nil
	}
	if err := checkStored(typ, id, cur, pre); err != nil {
		return nil, false, err
	}
	r, err := d.write(typ, id, vs, doc, pre)
	return r, err == nil && cur == nil, err
}

// knowsLineage reports whether the caller whose write pre guards may know
// the versions vs of a deleted resource: pre.Stored accepts every one that
// is not a deletion record. An update of a deleted resource continues its
// history (version n+1, 200) only for such a caller. For any other, e.g.
// a patient-context writer re-using the id of another patient's deleted
// resource, the version number, status and If-Match answer would tell
// that the id was used and how many versions it had, so the update
// creates a new resource in its place instead: its history starts again
// at version 1 and the deleted versions are dropped for every caller (as
// if the server had purged the deleted resource's history, which FHIR
// allows). Keeping them would either number the new versions after them,
// which is the leak, or give two versions of one id the same number.
// Stored is the check asked because it is the caller's access to the
// stored resource: under patient context, that it is in the patient's
// compartment, as a read of it would require.
func knowsLineage(vs []*Resource, pre Precondition) bool {
	if pre.Stored == nil {
		return true
	}
	for _, v := range vs {
		if !v.Deleted && pre.Stored(v) != nil {
			return false
		}
	}
	return true
}

func (d *data) Patch(typ, id string, patch []byte, pre Precondition) (*Resource, error) {
	if cur := d.current(typ, id); cur != nil && cur.Deleted {
		if err := hideDeleted(typ, id, pre); err != nil {
			return nil, err
		}
	}
	cur, err := d.Read(typ, id)
	if err != nil {
		return nil, err
	}
	if err := checkStored(typ, id, cur, pre); err != nil {
		return nil, err
	}
	doc, err := decodeResource(typ, cur.JSON)
	if err != nil {
		return nil, err
	}
	patched, err := ApplyPatch(doc, patch)
	if err != nil {
		return nil, err
	}
	out, ok := patched.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the patch replaced the whole resource with a non-object", ErrInvalid)
	}
	if out["resourceType"] != typ || out["id"] != id {
		return nil, fmt.Errorf("%w: a patch may not change resourceType or id", ErrInvalid)
	}
	return d.write(typ, id, d.versions(typ, id), out, pre)
}

func (d *data) Delete(typ, id string, pre Precondition) (*Resource, error) {
	if err := d.checkTypeID(typ, id); err != nil {
		return nil, err
	}
	cur := d.current(typ, id)
	if cur == nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, typ, id)
	}
	if cur.Deleted {
		if err := hideDeleted(typ, id, pre); err != nil {
			return nil, err
		}
		if err := checkStored(typ, id, cur, Precondition{IfMatch: pre.IfMatch}); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if err := checkStored(typ, id, cur, pre); err != nil {
		return nil, err
	}
	r := &Resource{Type: typ, ID: id, Version: cur.Version + 1, LastUpdated: d.now(), Deleted: true, seq: cur.seq}
	d.byType[typ][id] = append(d.versions(typ, id), r)
	return r, nil
}

func (d *data) History(typ, id string) ([]*Resource, error) {
	if err := d.checkTypeID(typ, id); err != nil {
		return nil, err
	}
	vs := d.versions(typ, id)
	if len(vs) == 0 {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, typ, id)
	}
	out := make([]*Resource, len(vs))
	for i, r := range vs {
		out[len(vs)-1-i] = r
	}
	return out, nil
}

func (d *data) Search(q Query, visible func(*Resource) bool) (Page, error) {
	if err := d.checkType(q.Type); err != nil {
		return Page{}, err
	}
	ok := func(r *Resource) bool { return visible == nil || visible(r) }
	var all []*Resource
	for _, vs := range d.byType[q.Type] {
		if cur := vs[len(vs)-1]; q.Matches(cur) && ok(cur) {
			all = append(all, cur)
		}
	}
	sortBySeq(all)
	page := Page{Total: len(all)}
	if q.SummaryCount {
		return page, nil
	}
	start := min(q.Offset, len(all))
	end := min(start+q.Count, len(all))
	page.Matches = all[start:end]

	seen := map[string]bool{}
	for _, r := range page.Matches {
		seen[r.Ref()] = true
	}
	add := func(r *Resource) {
		if r != nil && !r.Deleted && !seen[r.Ref()] && ok(r) {
			seen[r.Ref()] = true
			page.Included = append(page.Included, r)
		}
	}
	for _, inc := range q.Includes {
		def, _ := lookupParam(inc.SourceType, inc.Param)
		for _, r := range page.Matches {
			for _, ref := range references(r, def) {
				t, id, _ := SplitReference(ref)
				if inc.TargetType != "" && t != inc.TargetType {
					continue
				}
				add(d.current(t, id))
			}
		}
	}
	for _, inc := range q.RevIncludes {
		def, _ := lookupParam(inc.SourceType, inc.Param)
		var found []*Resource
		for _, vs := range d.byType[inc.SourceType] {
			cur := vs[len(vs)-1]
			if cur.Deleted {
				continue
			}
			for _, ref := range references(cur, def) {
				if containsRef(page.Matches, ref) {
					found = append(found, cur)
					break
				}
			}
		}
		sortBySeq(found)
		for _, r := range found {
			add(r)
		}
	}
	return page, nil
}

func containsRef(rs []*Resource, ref string) bool {
	for _, r := range rs {
		if r.Ref() == ref {
			return true
		}
	}
	return false
}

func sortBySeq(rs []*Resource) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].seq < rs[j].seq })
}

// compile-time check that data is usable as Ops inside Atomic.
var _ Ops = (*data)(nil)
