package fhirauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/fhirwarden/fhirwarden/internal/jsonsyntax"
)

// The operations fhirauth has rules of its own for (their names without
// "$"): Bulk Data's $export and Patient/[id]/$everything. Every other
// operation is decided by a registered OperationRule, or refused.
const (
	opExport     = "export"
	opEverything = "everything"
)

// builtinOperations lists them.
var builtinOperations = [...]string{opExport, opEverything}

// builtinOperation reports whether name is one of the built-in operations.
func builtinOperation(name string) bool {
	return slices.Contains(builtinOperations[:], name)
}

// KnowsOperation reports whether the policy has rules for the operation
// named name ("$" optional): a built-in one ($export, $everything) or
// one registered with WithOperation. Any other operation is refused as
// unknown. Names are compared ignoring letter case, although the policy
// routes the exact name only and refuses a case variant as unknown: a
// server may match operation names in any case and read $EXPORT as
// $export, so a caller telling the policy's operations from others
// (a gateway recording an upstream's Bulk Data job URLs, which their
// owner then reaches past the policy) must not take one for the other.
func (p *Policy) KnowsOperation(name string) bool {
	name = strings.TrimPrefix(name, "$")
	for _, known := range builtinOperations {
		if strings.EqualFold(name, known) {
			return true
		}
	}
	for known := range p.ops {
		if strings.EqualFold(name, known) {
			return true
		}
	}
	return false
}

// finishOperation validates the parameters of an operation and fills
// Reaches. The built-in $export and $everything are understood here;
// registered search operations are analysed like searches; other
// operations reach their target type only.
func (p *Policy) finishOperation(req *Request, in *rawRequest) error {
	if len(in.body) > 0 && p.paramsInBody(req.Operation) {
		if err := mergeParameters(req, in); err != nil {
			return err
		}
	}
	switch req.Operation {
	case opExport:
		return p.finishExport(req)
	case opEverything:
		return p.finishEverything(req)
	}
	if rule, ok := p.ops[req.Operation]; ok && rule.Search && req.Level != SystemLevel {
		return p.analyzeSearch(req, req.Params)
	}
	if req.ResourceType != "" {
		req.Reaches = []Reach{{Type: req.ResourceType, Kind: ReachTarget}}
	}
	return nil
}

// finishExport: Bulk Data $export at system level, on Patient (type level)
// or on a Group instance. The types exported are _type, or every type
// (system) or every compartment type (Patient, Group).
func (p *Policy) finishExport(req *Request) error {
	switch {
	case req.Level == SystemLevel:
	case req.Level == TypeLevel && req.ResourceType == "Patient":
	case req.Level == InstanceLevel && req.ResourceType == "Group":
	default:
		return invalid("$export is defined at the system level, on Patient and on Group/[id]")
	}
	if req.Method == http.MethodHead {
		// Bulk Data kicks off by GET or POST. A server that answers
		// HEAD as GET (a servlet does by default) starts a job, which
		// whatever counts and binds kick-offs by those methods misses.
		return unsupported("HEAD cannot kick off $export: a server may start a job for it; use GET or POST")
	}
	var types []string
	for _, v := range req.Params["_type"] {
		for _, t := range splitList(v) {
			if err := p.checkType(t); err != nil {
				return err
			}
			types = append(types, t)
		}
	}
	for _, v := range req.Params["_typeFilter"] {
		for _, f := range splitList(v) {
			t, _, _ := strings.Cut(f, "?")
			if err := p.checkType(t); err != nil {
				return err
			}
			if len(types) > 0 && !contains(types, t) {
				return invalid("_typeFilter names %s, which is not in _type", t)
			}
		}
	}
	switch {
	case len(types) > 0:
		for _, t := range types {
			req.Reaches = append(req.Reaches, Reach{Type: t, Kind: ReachType, Param: "_type"})
		}
	case req.Level == SystemLevel:
		req.Reaches = []Reach{{Type: "*", Kind: ReachType, Param: "_type"}}
	default:
		for _, t := range p.compartmentTypesOf("Patient") {
			req.Reaches = append(req.Reaches, Reach{Type: t, Kind: ReachCompartment, Param: "$export"})
		}
	}
	return nil
}

// finishEverything: Patient/[id]/$everything (or type-level
// Patient/$everything) returns the patient's compartment and referenced
// resources.
func (p *Policy) finishEverything(req *Request) error {
	if req.ResourceType != "Patient" || req.Level == SystemLevel {
		return unsupported("$everything is authorized on Patient only")
	}
	req.Reaches = []Reach{{Type: "Patient", Kind: ReachTarget}}
	if vals := req.Params["_type"]; len(vals) > 0 {
		for _, v := range vals {
			for _, t := range splitList(v) {
				if err := p.checkType(t); err != nil {
					return err
				}
				req.Reaches = append(req.Reaches, Reach{Type: t, Kind: ReachType, Param: "_type"})
			}
		}
		return nil
	}
	req.Reaches = append(req.Reaches, Reach{Type: "*", Kind: ReachCompartment, Param: "$everything"})
	return nil
}

// mergeParameters merges the string-valued parameters of a Parameters
// body into req.Params, and notes in req.unreadParams that it has others.
func mergeParameters(req *Request, in *rawRequest) error {
	if mt := mediaType(in.contentType); mt != "" && !isJSONMedia(mt) {
		return unsupported("only FHIR JSON Parameters bodies can be authorized, not %q", clip(in.contentType))
	}
	if !jsonsyntax.Valid(in.body) {
		return invalid("the body is not valid JSON")
	}
	rt, _, err := resourceHeader(in.body)
	if err != nil || rt != "Parameters" {
		return invalid("the operation body must be a Parameters resource")
	}
	merged := url.Values{}
	for k, v := range req.Params {
		merged[k] = append([]string(nil), v...)
	}
	root := memberSet{names: []string{"parameter"}}
	err = eachMember(in.body, func(key string, val []byte) error {
		if i, err := root.index(key); err != nil || i < 0 {
			return err
		}
		return eachElement(val, func(_ int, el []byte) error {
			name, value, hasValue, err := primitiveParameter(el)
			if err != nil {
				return err
			}
			switch {
			case name != "" && hasValue:
				merged[name] = append(merged[name], value)
			case name == "_type" || name == "_typeFilter" || name == "patient":
				return unsupported("parameter %q must be a primitive value", name)
			default:
				req.unreadParams = true
			}
			return nil
		})
	})
	if err != nil {
		return invalid("malformed Parameters body: %v", err)
	}
	req.Params = merged
	req.Body = in.body
	return nil
}

// primitiveParameter reads the name and string value of one
// Parameters.parameter element, strictly: a repeated or case-variant
// "name", or more than one value[x], is ambiguous (servers differ on which
// wins) and an error.
func primitiveParameter(el []byte) (name, value string, hasValue bool, err error) {
	ms := memberSet{names: []string{"name"}}
	values := 0
	err = eachMember(el, func(k string, v []byte) error {
		i, err := ms.index(k)
		if err != nil {
			return err
		}
		if i == 0 {
			s, ok := jsonString(v)
			if !ok {
				return invalid("parameter name is not a string")
			}
			name = s
			return nil
		}
		if len(k) >= 5 && strings.EqualFold(k[:5], "value") {
			if values++; values > 1 || !strings.HasPrefix(k, "value") {
				return errAmbiguousJSON
			}
			value, hasValue = jsonString(v)
		}
		return nil
	})
	return name, value, hasValue, err
}
