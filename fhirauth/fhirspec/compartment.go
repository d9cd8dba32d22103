package fhirspec

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// CompartmentParam is one search parameter of the patient
// CompartmentDefinition that ties a resource type to the Patient
// compartment: a resource is in Patient/X's compartment when the parameter
// refers to Patient/X.
type CompartmentParam struct {
	// Name is the search parameter name as the CompartmentDefinition lists
	// it, e.g. "subject", "performer" or "policy-holder". A name with a dot
	// ("agent.patient" in STU3 AuditEvent) is a chained parameter.
	Name string
	// Paths are the JSON element paths (from the resource root, dotted,
	// arrays traversed implicitly) of the Reference elements the parameter
	// searches, transcribed from the SearchParameter's expression, e.g.
	// ["subject"] or ["participant.actor"]. Empty for a chained parameter:
	// a chain goes through another resource and cannot be evaluated on the
	// resource alone, so InPatientCompartment ignores it (fail closed).
	Paths []string
}

// Chained reports whether p is a chained parameter (evaluated through
// another resource, so never by InPatientCompartment).
func (p CompartmentParam) Chained() bool { return len(p.Paths) == 0 }

// compartmentType is the compiled patient-compartment entry of one type.
type compartmentType struct {
	params []CompartmentParam
	root   pathNode // children: first path segments
}

// pathNode is one element name of a compartment path.
type pathNode struct {
	name     string
	ref      bool // the element is a Reference (or a list of them)
	children []*pathNode
	// lens has bit i set when a name that decides membership at this
	// node (a child's, or "reference" when ref) is i bytes long: an ASCII
	// key of another length can be neither such a name nor a case variant
	// of one. Names of 64 bytes or more are not in it (the walk reads keys
	// that long through).
	lens uint64
}

// index sets lens on n and the nodes below it.
func (n *pathNode) index() {
	n.lens = 0
	if n.ref {
		n.lens |= 1 << len("reference")
	}
	for _, c := range n.children {
		if len(c.name) < 64 {
			n.lens |= 1 << len(c.name)
		}
		c.index()
	}
}

// rootLens are the lengths of the names the root object adds: "id" and
// "resourceType".
const rootLens = 1<<len("id") | 1<<len("resourceType")

// lensAt is n.lens, with the root object's own names at the root.
func (n *pathNode) lensAt(root bool) uint64 {
	if root {
		return n.lens | rootLens
	}
	return n.lens
}

// mayDecide reports whether the member key (plain as
// jsonsyntax.ObjectReader.Plain says) may decide membership at n: name
// one of n's children, "reference" when n is a Reference, "id" or
// "resourceType" at the root, or a case variant of one of them. A plain
// key folds only to names of its own length, so the walk answers most
// keys with one test of lensAt, without comparing names.
func (n *pathNode) mayDecide(key string, plain, root bool) bool {
	return !plain || len(key) >= 64 || n.lensAt(root)&(1<<len(key)) != 0
}

func (n *pathNode) child(name string) *pathNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// compartments holds the compiled tables, built once at init from the
// transcribed data in compartment_stu3.go and compartment_r4.go.
var compartments = [...]map[string]*compartmentType{
	STU3: compileCompartment(STU3, stu3PatientCompartment),
	R4:   compileCompartment(R4, r4PatientCompartment),
}

// compartmentTypes holds the sorted type names of compartments.
var compartmentTypes = [...][]string{
	STU3: sortedKeys(compartments[STU3]),
	R4:   sortedKeys(compartments[R4]),
}

func sortedKeys(m map[string]*compartmentType) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// compileCompartment parses a transcribed table: one resource type a line,
// followed by its parameters as name=path|path; a parameter without "="
// is chained. It panics on a malformed table (a programming error caught
// by the package tests).
func compileCompartment(v Version, table string) map[string]*compartmentType {
	out := map[string]*compartmentType{}
	for line := range strings.SplitSeq(table, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		typ := fields[0]
		if !IsResourceType(v, typ) || out[typ] != nil || len(fields) < 2 {
			panic(fmt.Sprintf("fhirspec: bad %v compartment line %q", v, line))
		}
		ct := &compartmentType{}
		for _, f := range fields[1:] {
			name, paths, ok := strings.Cut(f, "=")
			p := CompartmentParam{Name: name}
			if ok {
				p.Paths = strings.Split(paths, "|")
			}
			if name == "" || ok != !strings.Contains(name, ".") {
				panic(fmt.Sprintf("fhirspec: bad %v compartment param %q", v, f))
			}
			for _, path := range p.Paths {
				n := &ct.root
				for seg := range strings.SplitSeq(path, ".") {
					if seg == "" {
						panic(fmt.Sprintf("fhirspec: bad %v compartment path %q", v, f))
					}
					c := n.child(seg)
					if c == nil {
						c = &pathNode{name: seg}
						n.children = append(n.children, c)
					}
					n = c
				}
				n.ref = true
			}
			if len(ct.root.children) > 62 {
				panic(fmt.Sprintf("fhirspec: too many %v compartment paths for %s", v, typ))
			}
			ct.params = append(ct.params, p)
		}
		ct.root.index()
		out[typ] = ct
	}
	return out
}

func compartmentOf(v Version, t string) *compartmentType {
	if !v.Valid() {
		return nil
	}
	return compartments[v][t]
}

// PatientCompartment returns the parameters that tie resource type t to the
// Patient compartment in version v (a deep copy, in CompartmentDefinition
// order), and whether t can be in the compartment at all. Types the
// definition lists without parameters (Practitioner, Medication, ...),
// unknown or mis-cased types, and unknown versions report false.
//
// Patient itself reports true with its "link" parameter; a Patient is also
// in its own compartment by its id, which InPatientCompartment checks.
func PatientCompartment(v Version, t string) ([]CompartmentParam, bool) {
	ct := compartmentOf(v, t)
	if ct == nil {
		return nil, false
	}
	out := make([]CompartmentParam, len(ct.params))
	for i, p := range ct.params {
		out[i] = CompartmentParam{Name: p.Name, Paths: slices.Clone(p.Paths)}
	}
	return out, true
}

// IsPatientCompartmentParam reports whether name is one of the parameters
// tying type t to the Patient compartment in version v (exact match,
// chained parameters included). It does not allocate.
func IsPatientCompartmentParam(v Version, t, name string) bool {
	ct := compartmentOf(v, t)
	if ct == nil {
		return false
	}
	for _, p := range ct.params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// PatientCompartmentTypes returns the sorted resource types of version v
// that can be in a Patient compartment (Patient included).
func PatientCompartmentTypes(v Version) []string {
	if !v.Valid() {
		return nil
	}
	return slices.Clone(compartmentTypes[v])
}
