package fhirauth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fhirwarden/fhirwarden/fhirauth/fhirspec"
	"github.com/fhirwarden/fhirwarden/scope"
)

// defaultMaxBody is the default limit on a request body that a decision has
// to read (writes, POST _search, batch and transaction Bundles): 8 MiB.
const defaultMaxBody = 8 << 20

// NewPolicy builds a Policy. Without options it decides FHIR R4 requests
// under the base path "/fhir", shares no non-compartment types with
// patient/ scopes, registers no operations beyond the built-in $export and
// $everything rules, hides the existence of out-of-compartment resources
// (404) and reads bodies of at most 8 MiB. Invalid options
// are reported here, never at decision time.
func NewPolicy(opts ...Option) (*Policy, error) {
	p := &Policy{
		version: fhirspec.R4,
		base:    "/fhir",
		shared:  map[string]bool{},
		ops:     map[string]OperationRule{},
		hide:    true,
		maxBody: defaultMaxBody,
	}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("fhirauth: nil Option")
		}
		if err := o(p); err != nil {
			return nil, err
		}
	}
	for t := range p.shared {
		if !fhirspec.IsResourceType(p.version, t) {
			return nil, fmt.Errorf("fhirauth: shared type %q is not a %v resource type", t, p.version)
		}
		if _, ok := fhirspec.PatientCompartment(p.version, t); ok {
			return nil, fmt.Errorf("fhirauth: shared type %q is in the patient compartment; patient/ scopes already reach it within the compartment", t)
		}
	}
	for name, r := range p.ops {
		for _, t := range r.Types {
			if !fhirspec.IsResourceType(p.version, t) {
				return nil, fmt.Errorf("fhirauth: operation $%s: %q is not a %v resource type", name, t, p.version)
			}
		}
	}
	m, err := fhirspec.NewMatcher(p.version)
	if err != nil {
		return nil, fmt.Errorf("fhirauth: %w", err)
	}
	p.matcher = m
	p.allTypes = fhirspec.ResourceTypes(p.version)
	p.compartment = buildCompartments(p.version)
	return p, nil
}

// WithVersion sets the FHIR version (fhirspec.STU3 or fhirspec.R4; default R4).
func WithVersion(v fhirspec.Version) Option {
	return func(p *Policy) error {
		if !v.Valid() {
			return fmt.Errorf("fhirauth: FHIR version %v: %w", v, fhirspec.ErrUnknownVersion)
		}
		p.version = v
		return nil
	}
}

// WithBasePath sets the path of the FHIR base (default "/fhir"); requests
// are classified relative to it. It must start with "/", must not end with
// "/" (use "/" alone for a server at the root) and may contain only
// letters, digits, '-', '_', '.' and '/' without dot or empty segments.
func WithBasePath(base string) Option {
	return func(p *Policy) error {
		if base == "/" {
			p.base = ""
			return nil
		}
		if !strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/") {
			return fmt.Errorf("fhirauth: base path %q must start and not end with \"/\"", base)
		}
		for seg := range strings.SplitSeq(base[1:], "/") {
			if seg == "" || seg == "." || seg == ".." || !isPathText(seg) {
				return fmt.Errorf("fhirauth: base path %q has an empty, dot or non-plain segment", base)
			}
		}
		p.base = base
		return nil
	}
}

// WithSharedTypes lets patient/ scopes read and search resource types that
// are not in any patient compartment (e.g. Practitioner, Organization,
// Medication, Location), which are otherwise denied under patient/ scopes.
// The scopes must still name the type (or "*"). Sharing is for reading:
// patient/ scopes never create, update, patch or delete a shared type (a
// patient changing a Practitioner would change every patient's records).
// Types in the patient compartment are rejected: they are always limited
// to the compartment.
func WithSharedTypes(types ...string) Option {
	return func(p *Policy) error {
		for _, t := range types {
			p.shared[t] = true
		}
		return nil
	}
}

// WithOperation registers an operation the policy allows (see
// OperationRule). Each operation is registered once; a second rule for
// the same name is an error, as is a rule for $export or $everything,
// whose built-in rules always apply.
func WithOperation(r OperationRule) Option {
	return func(p *Policy) error {
		name := strings.TrimPrefix(r.Name, "$")
		if name == "" || !isPathText(name) {
			return fmt.Errorf("fhirauth: operation name %q is not valid", r.Name)
		}
		if builtinOperation(name) {
			return fmt.Errorf("fhirauth: $%s has built-in rules and cannot be registered", name)
		}
		if r.Levels == 0 || r.Levels&^(SystemLevel|TypeLevel|InstanceLevel) != 0 {
			return fmt.Errorf("fhirauth: operation $%s needs a valid Levels set", name)
		}
		if r.Permission == 0 || r.Permission&^scope.All != 0 {
			return fmt.Errorf("fhirauth: operation $%s needs a non-empty Permission", name)
		}
		if r.Search && r.Levels&(SystemLevel|InstanceLevel) != 0 {
			// An instance operation runs on the resource its path names,
			// which the search narrowing (added query parameters the
			// operation may ignore) does not restrict.
			return fmt.Errorf("fhirauth: operation $%s: a search operation must be type level only", name)
		}
		if _, dup := p.ops[name]; dup {
			// Two rules for one operation are a configuration mistake:
			// letting the later win silently could grant what the
			// earlier one was written to withhold.
			return fmt.Errorf("fhirauth: operation $%s is registered twice", name)
		}
		r.Name = name
		r.Types = append([]string(nil), r.Types...)
		p.ops[name] = r
		return nil
	}
}

// WithUserRule installs a hook consulted for every request (and Bundle
// entry) that user/ scopes would allow: the place for rules about what a
// particular user may do beyond the scopes. An error denies with 403 and
// the error's text as the reason.
func WithUserRule(rule UserRule) Option {
	return func(p *Policy) error {
		if rule == nil {
			return errors.New("fhirauth: nil UserRule")
		}
		p.userRule = rule
		return nil
	}
}

// WithExistenceHiding chooses the status for a read of a resource outside
// the caller's patient compartment: 404 (hide, the default) or 403.
func WithExistenceHiding(hide bool) Option {
	return func(p *Policy) error {
		p.hide = hide
		return nil
	}
}

// WithMaxBodySize limits the bodies Classify reads (default 8 MiB).
func WithMaxBodySize(n int64) Option {
	return func(p *Policy) error {
		if n <= 0 {
			return fmt.Errorf("fhirauth: max body size %d must be positive", n)
		}
		p.maxBody = n
		return nil
	}
}

// Version returns the FHIR version the policy decides for.
func (p *Policy) Version() fhirspec.Version { return p.version }

// BasePath returns the FHIR base path ("" for a server at the root).
func (p *Policy) BasePath() string { return p.base }

// MaxBodySize returns the limit on the request bodies the policy reads
// (WithMaxBodySize); a middleware that reads a body itself keeps to it.
func (p *Policy) MaxBodySize() int64 { return p.maxBody }

// isPathText reports whether s has only letters, digits and "-_.$".
func isPathText(s string) bool {
	for i := 0; i < len(s); i++ {
		if !segmentByte[s[i]] {
			return false
		}
	}
	return true
}
