package fhirauth

var interactionNames = [...]string{
	Unknown:            "unknown",
	Capabilities:       "capabilities",
	SMARTConfiguration: "smart-configuration",
	Read:               "read",
	VRead:              "vread",
	Update:             "update",
	Patch:              "patch",
	Delete:             "delete",
	Create:             "create",
	SearchType:         "search-type",
	SearchSystem:       "search-system",
	SearchCompartment:  "search-compartment",
	HistoryInstance:    "history-instance",
	HistoryType:        "history-type",
	HistorySystem:      "history-system",
	Operation:          "operation",
	Batch:              "batch",
	Transaction:        "transaction",
	PageContinuation:   "page-continuation",
}

// String returns the FHIR name of the interaction ("read", "search-type",
// ...; "smart-configuration" and "page-continuation" for the two
// non-interaction endpoints).
func (i Interaction) String() string {
	if int(i) < len(interactionNames) {
		return interactionNames[i]
	}
	return "unknown"
}

// IsSearch reports whether the interaction is a search (type, system or
// compartment).
func (i Interaction) IsSearch() bool {
	return i == SearchType || i == SearchSystem || i == SearchCompartment
}

// String returns "system", "type" or "instance" (or a "|"-joined set).
func (l Level) String() string {
	var s string
	add := func(name string) {
		if s != "" {
			s += "|"
		}
		s += name
	}
	if l&SystemLevel != 0 {
		add("system")
	}
	if l&TypeLevel != 0 {
		add("type")
	}
	if l&InstanceLevel != 0 {
		add("instance")
	}
	if s == "" {
		return "none"
	}
	return s
}

var reachNames = [...]string{
	ReachTarget:      "target",
	ReachInclude:     "include",
	ReachRevInclude:  "revinclude",
	ReachChain:       "chain",
	ReachHas:         "has",
	ReachList:        "list",
	ReachType:        "type",
	ReachCompartment: "compartment",
}

// String returns the kind's name ("target", "include", ...).
func (k ReachKind) String() string {
	if int(k) < len(reachNames) {
		return reachNames[k]
	}
	return "unknown"
}
