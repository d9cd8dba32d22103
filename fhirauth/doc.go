// Package fhirauth understands FHIR REST requests and decides, fail-closed
// and with a reason, whether a caller's SMART scopes allow them.
//
//	policy, err := fhirauth.NewPolicy(
//		fhirauth.WithVersion(fhirspec.STU3),
//		fhirauth.WithSharedTypes("Practitioner", "Organization", "Medication"),
//	)
//	if err != nil { ... }
//	req, d := policy.Authorize(ctx, principal, httpRequest) // principal from package token
//	if !d.Allowed {
//		w.WriteHeader(d.Status) // 400, 401, 403, 404 or 413
//		w.Write(d.OperationOutcome())  // FHIR OperationOutcome, d.Reason as diagnostics
//		return
//	}
//	httpRequest.URL.RawQuery = d.ApplyTo(httpRequest.URL.Query()).Encode() // narrowing
//
// # Classify
//
// Policy.Classify turns an *http.Request into a Request: the interaction
// (read, search, create, batch, $export, ...), the resource type, id,
// compartment, operation, search parameters (the query merged with a POST
// _search form), the body when the decision needs it, one classified
// Request per Bundle entry, and Reaches: every resource type the request
// can read (target, _include/_revinclude targets, chain hops, _has types,
// _type). Anything ambiguous is an error, never a guess: percent-encoding,
// dot or empty segments and ";" in the path, mis-cased or unknown types,
// absolute URLs in Bundle entries, nested Bundles, Bundle entries that
// search by POST or create with a query in request.url, a second "?" in
// a Bundle entry's request.url or in an If-None-Exist query and a raw
// "#" in any query (servers' own URL parsers end the query there,
// medplum's among them), _filter and _query,
// duplicate or case-variant keys in the JSON elements that matter. The
// search of a conditional write (If-None-Exist, the query of a
// conditional update, patch or delete, and their forms in Bundle entries)
// selects the resource to write, so it may hold search parameters only:
// a result parameter there (_include, _revinclude, _sort, _count,
// _summary, _elements, ...) is an error naming it.
//
// # Decide
//
// Policy.Decide maps each interaction to SMART permission letters (read,
// vread and instance history need r; searches and type/system history s;
// create c; update u; patch u and r, since its answer reads the stored
// resource; delete d; conditional ones also s) and
// checks every reached type. patient/ scopes act only inside the
// compartment of the token's patient claim, using the official patient
// CompartmentDefinition of the configured FHIR version (package fhirspec):
// searches are narrowed (Decision.Narrow, Decision.ApplyTo) and may not
// name other patients, nor chain through resources that may belong to
// someone else (a chain may enter Patient only through the narrowing
// parameter, and only where that parameter holds a single reference:
// Observation?subject:Patient.name, not Group?member:Patient.name, whose
// member repeats, so the chain would test the other members); a search
// of Patient, narrowed by _id, is also checked entry by entry (medplum
// matches _id without regard to letter case, so Patient?_id=abc returns
// Patient/ABC too); reads by id get a response check
// (Decision.CheckResponse, which rebuilds a Bundle from an allow-list
// so nothing unchecked rides along, or Decision.CheckResult per result
// for servers that search natively; a
// HEAD, which has no body to check, is then refused); writes must stay in
// the compartment, with no reference a server could resolve to another
// patient (conditional, absolute), and the stored version is checked
// (Decision.CheckStored; deleting a missing resource is refused like
// deleting another patient's); shared types are read-only. A conditional
// create's search is narrowed, and its answer, which is the resource
// the search found when it matched, gets the response check as a read
// (under patient context, and for a constrained scope), since a server
// may match more than the narrowing says (medplum matches tokens
// without regard to letter case). A conditional
// reference anywhere in a written body (Patient?identifier=...) is a
// search the server runs to resolve it, and whether the write succeeds
// tells what it found: it needs unconstrained "s" on its type, and
// under patient context a type shared with patient/ scopes. No patch,
// under any scope, may change a resource's id or resourceType: medplum
// stores the patched resource under its new type and id. So only JSON
// Patch and FHIRPath Patch (JSON), which can be read for that, are
// accepted; an XML patch is refused (400) for every token. A search,
// narrowed or not, with a parameter that is neither a search parameter of
// its type in the release (fhirspec.IsSearchParam, by the name before any
// modifier or chain) nor a result parameter fhirauth reads (_count,
// _sort, _include, ...; not _page) goes to the server as it is but gets
// the response check, entry by entry as a _getpages page does: servers
// page with opaque tokens in such parameters (Azure's ct, Cerner's
// -pageContext, HealthLake's page), and a token may replay another
// search, another patient's, while the server ignores the rest of the
// query, the narrowing included. A history with _page is checked the
// same way, where the history alone would need no check. A registered
// search operation (OperationRule.Search, such as $lastn) is decided,
// narrowed and checked as a search of its type is. None of these checks
// is made for a token with an unconstrained "*" scope outside patient
// context (system/*.rs, user/*.cruds): every resource of every type
// would pass it, so such a response streams however it was paged.
// SMART v2 constraints (patient/Observation.rs?category=laboratory) are
// added to searches and checked on resources in hand; when they cannot be
// enforced the request is denied. On a resource, each constraint is read
// by the FHIR data type of the elements its parameter searches on the
// resource's type, as the release's SearchParameter defines them
// (fhirspec.SearchPaths: Questionnaire's "code" reads item.code,
// MedicationRequest's medicationCodeableConcept): a CodeableConcept by its codings' system and
// code, a Coding by its system and code, an Identifier by its system and
// value, a code or string by its value, a Reference only in the exact
// relative form Type/id (fhirspec.RelativeReference; never by suffix,
// never absolute or conditional). Members the type does not define never
// match, an element of a shape its type does not allow fails the
// constraint, and a parameter the resource type lacks, or whose
// expression or element types fhirspec cannot read, cannot be enforced, on a resource or on a search
// (a server would ignore a parameter the type does not have and search
// unfiltered). An update whose target does
// not exist creates it (update-as-create, or a conditional update that
// matches nothing), so it also needs "c", granted with the update's
// letters by one scope whose constraints, if any, the body satisfies, as a
// create of the same body would; otherwise the stored-version check
// refuses a missing target (and the middleware, which cannot resolve a
// conditional update's search, refuses the conditional update). A create
// whose body has an id is refused unless the token may update any
// resource of the type, without constraints and outside patient context:
// FHIR has the server ignore that id, but some servers (medplum) store
// the resource under it, replacing the one that has it. A Subscription
// is a search the server keeps running with its own rights, delivering
// what it finds to the writer's endpoint even after the token expired:
// a create or update of one (conditional ones and Bundle entries too) is
// allowed only when its criteria is a search of one type relative to the
// base (Type?params) that the same token may run as written, decided as
// a GET of it: allowed, with nothing added to its query and no response
// check (the server makes neither on what it delivers). Any other
// criteria (a missing, absolute or topic URL, R5's topic, extensions on
// the criteria, a second "?", where medplum ends the criteria's query)
// is refused, and so is a patch of a Subscription, whose
// criteria after the patch cannot be known (send it with PUT). A
// SearchParameter, CompartmentDefinition or OperationDefinition changes
// what the server does for every user (HAPI lets a SearchParameter
// redefine a built-in parameter, the narrowing's included; medplum runs
// the Bot an OperationDefinition names as that operation): a write of
// one, of any kind, needs a system/ scope that names the type, without
// constraints, and grants the write's letters (system/SearchParameter.c);
// user/, patient/ and "*" scopes do not count, and an update that would
// create its target needs that scope's "c" too. $export needs system/
// scopes; other operations need registering (WithOperation).
// A batch is decided per entry; a transaction is refused when any entry
// is.
//
// # Say no
//
// Every denial carries an HTTP status, an OperationOutcome issue code, a
// reason a person can act on and, when a scope would have been enough,
// that scope (Decision.Needed, for WWW-Authenticate). OperationOutcome
// builds the STU3 or R4 JSON body from templates that google/fhir/go's
// model and marshaller generated (go generate), so that programs using
// fhirauth do not load google/fhir/go at run time.
//
// # Explain
//
// Policy.Explain answers "what will this token let me do?": per resource
// type, which interactions are allowed, in which context, for which
// patient's compartment and under which v2 constraints; what the
// non-resource scopes mean; what the token asks for that is not honoured.
// It asks Decide itself with one representative request per type and
// interaction, so it agrees with the decisions (property tests hold it
// to that), and offers a v2 constraint only when some resource can
// satisfy it together with the patient compartment check: a scope such as
// patient/Observation.c?patient=Patient/2 for a token of Patient/1 grants
// nothing and is reported as not honoured, with why.
// Explanation.String renders short plain English; the struct marshals to
// JSON. Policy.ExplainRequest explains one request: the
// decision, its reason, the scopes that granted it, the narrowing and
// checks the server applies, and the scope that would have been enough.
package fhirauth
