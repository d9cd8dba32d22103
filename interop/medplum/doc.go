// Package medplum puts examples/gateway in front of a FHIR R4 server nobody
// here wrote: medplum's @medplum/fhir-router with its in-memory repository
// (server.mjs, pinned in package.json / package-lock.json), and drives it
// with Go requests and with a real JavaScript FHIR client, fhir-kit-client
// (client.mjs).
//
//	(cd interop/medplum && npm ci)   # Node.js 20+, medplum, fhir-kit-client
//	go test -v ./interop/medplum
//	CI=true go test ./interop/medplum # a missing peer fails instead of skipping
//
// The data: three patients with resources of the nine Care Connect types
// (Patient, Observation, Encounter, Condition, Procedure, AllergyIntolerance,
// MedicationRequest, MedicationStatement, Immunization), each carrying a
// marker of its patient in its narrative, plus a shared Practitioner and
// Organization. Every request of the case table (reads, searches, _include,
// _revinclude, chains, batches, transactions, history, paging links) is sent
// three ways:
//
//   - to the upstream directly, without a token: the cases marked as leaking
//     must return other patients' resources there, so that the gateway's
//     result below means something;
//   - through the gateway with a patient-context token (patient/*.rs, patient
//     p1): no resource or marker of another patient may appear, and the
//     result must equal the upstream's result with other patients' resources
//     removed;
//   - through the gateway with a system/*.rs token: the result must equal the
//     upstream's, once the upstream's base URL is replaced by the gateway's.
//
// Then: next links are followed page by page (only the patient's
// Observations, every link naming the gateway); fhir-kit-client reads,
// searches (GET, POST _search, _include), pages with nextPage, reads
// history, batches and transacts with both tokens; requests about another
// patient's resource are compared with the same requests about a missing
// one (an existence oracle is a difference); and a patient/*.cruds token
// tries to hijack, plant and delete other patients' records, alone and in
// batches and transactions, after which the upstream must be unchanged;
// Bundle entries that search by POST (medplum drops their query and
// answers with every patient's resources) and bodies whose compartment
// references are not strings (medplum stores them as written) must be
// refused. Subscriptions and SearchParameters are written with tokens that
// may or may not (constrained user scopes, patient context, user/*.cruds,
// system/*.cruds, system/SearchParameter.c), alone and in transactions
// whose urn fullUrls medplum replaces inside the criteria: what the gateway
// refuses must be missing from medplum's store, and every Subscription a
// patient-context token got stored is run through medplum's own
// subscription matching (matches.mjs: parseSearchRequest and
// matchesSearchRequest of @medplum/core), which must select none of
// another patient's resources. A patient whose id differs from the context
// patient's only in letter case (P1), which medplum's answer to the
// narrowed Patient?_id=p1 holds, must not reach the patient token.
//
// A seeded grammar (searchgen_test.go, searchgrammar_test.go; the seed is
// logged, MEDPLUM_SEARCHGEN_SEED replays another) generates 700 hostile GET
// requests: searches of the nine types, Practitioner, Organization and the
// system with _type; reference parameters as Patient/pN, pN, absolute URLs
// of the gateway and the upstream, lists, escaped slashes and versions;
// chains, _has, _id, _lastUpdated; tokens with and without a system;
// modifiers (:not, :missing, :exact, :contains, :text, :in, :below, :above,
// :identifier, :of-type, a type) and prefixes; _include and _revinclude
// (with :iterate, wildcards), _elements, _summary, _count, _offset, _sort,
// _total, _contained, _containedType, _format; repeated, re-cased and
// escaped names and values; compartment searches, $everything, histories,
// reads and vreads. On top of the seed above, each patient gets Observations
// of categories laboratory (in the category system, another system, beside
// vital-signs) and not (vital-signs, "Laboratory", the text only), hasMember
// references into another patient's Observation, p1 an Observation of p2's
// Encounter, p1 a link to p2 and p3 a link to p1, the case variant P1 is
// stored, and four Observations of p1 in two versions whose rights differ
// (laboratory, then not; the reverse; p1's, then p2's; the reverse), which
// vreads and histories judge version by version. Each request goes through
// the gateway with the patient-context token and with
// user/Observation.rs?category=laboratory user/Patient.rs user/Encounter.rs:
// every 2xx answer, and every page its next links lead to, may hold only
// resources the token may see, judged by their ids (and versions) against
// the store (an _elements answer keeps neither subject nor category), no
// other patient's marker (patient token), no total above what the token may
// see, and only links and fullUrls naming the gateway. Refusals pass, but
// the log counts answers by status, and floors of answers with entries, and
// of answers the gateway had to narrow or filter (the upstream's answer
// holds what the token may not see), keep the grammar from proving nothing
// by being refused. The same requests are then read the other ways a
// client reads: as GET entries of batch Bundles of one to six entries
// (all of them) and of transaction Bundles (a seeded quarter), a quarter
// of the Bundles with a hostile entry (an absolute url naming the
// gateway or the upstream, a rooted url, _search as the url by GET or
// POST, HEAD), a Bundle refused for one entry (400, or 403 for a
// transaction with a denied entry) sent again without it, every 2xx
// entry's resource (a searchset Bundle or a resource) judged as a GET
// answer is, every other entry and refusal for markers, and compartment
// entries answered with resources counted; the type and system searches
// among them as POST [type]/_search with a form body, the query in the
// body, in the URL or split between them; the compartment searches as
// POST Patient/x/Type/_search (and Encounter/x/Type) the same ways; the
// Patient/x/$everything among them by POST, without a body or with the
// parameters (_type, _since, _count, start) in a Parameters body, in the
// URL or split; and the system searches, with six of the types the user
// token may see, as GET [base]/_search. medplum searches a POST _search
// with its form body alone and drops the URL's query, so the gateway
// writes the narrowing into the body even when the client sent none.
// Each way has floors of its own; each kind of operation or POST read
// must be answered with entries to each token that may make it.
//
// A seeded generator (writegen_test.go, writegrammar_test.go; the seed is
// printed, WRITEGEN_SEED and WRITEGEN_WRITES replay or lengthen a run)
// sends 200 hostile writes per token through the gateway: creates, updates
// of the patient's own, another patient's and new ids (update-as-create)
// and of ids that differ only in letter case, JSON Patch and FHIRPath Patch
// under several content types, deletes, conditional creates (If-None-Exist
// as a query, with the type, as an absolute URL, empty), conditional
// updates, patches and deletes, _method and method-override headers, and
// batches and transactions mixing them (urn:uuid fullUrls and references to
// them, medplum's replacement of those urns in request.url and inside
// longer strings, a PUT then a DELETE of one resource, resource types that
// disagree with the url, duplicated entries). Bodies name patients in many
// spellings (relative, absolute with the gateway's, the upstream's or
// another base, versioned, contained, identifier-only, in extensions, in
// subject, patient, performer or focus; member names repeated, \u escaped
// or in another letter case, which JSON.parse reads its own way) and move
// Observations in and out of the laboratory category. The tokens are
// patient/*.cruds for p1; patient/Observation.cruds?category=laboratory
// patient/Patient.rs for p1; user/Observation.cruds?category=laboratory
// user/Patient.rs; and user/Observation.cruds user/Patient.rs,
// unconstrained, so that conditional writes get through. After every write
// the whole store is read from medplum directly: every resource created,
// changed or deleted must have been the token's to write before and after
// (in p1's compartment and no other's; a laboratory Observation; both; an
// Observation), a refused single write must have changed nothing, and no
// answer may hold another patient's data, nor any resource outside the
// token's rights (a conditional create answers with what its search
// found); a floor of allowed writes keeps the check meaningful.
//
// Then, per token (patient/*.cruds for p1, user/Observation.cruds?
// category=laboratory user/Patient.rs, and system/*.cruds as a control),
// the same generator sends transactions whose entries link to each other
// (WRITEGEN_TRANSACTIONS sets their number): a Patient the Bundle
// creates and resources that name it by its urn:uuid; links to a urn
// listed before the entry that resolves it, which medplum runs by kind,
// not in the Bundle's order; conditional references in bodies
// (Patient?identifier=urn:patients|p2), which server.mjs resolves to
// whatever matches; conditional creates whose search finds another
// patient's resource, or one medplum's case-blind token match finds for
// category=laboratory; updates that create; a delete and a create of one
// id; and entries bound to fail. server.mjs runs transactions atomically
// (medplum's config.transactions, with a MemoryRepository that rolls
// back): a transaction answered other than 2xx must leave the store as it
// was, one answered 2xx must answer every entry 2xx but those whose answer
// the gateway withheld, and the store is judged as above.
//
// medplum's MemoryRepository matches plain search parameters only;
// server.mjs adds _include, _revinclude, chains, fullUrls and paging links
// on top, as a production server has them, and searches the patient
// compartment (Patient/id/Type, Patient/id/*, Patient/id/$everything) by
// the official CompartmentDefinition, the Encounter compartment
// (Encounter/id/Type, Encounter/id/*) and the system with _type, which
// MemoryRepository answers with nothing, by GET and POST and as entries
// of batches and transactions: Patients that link to the patient, and,
// through medplum's case-blind _id, a Patient whose id differs only in
// letter case, are in the answer. fhir-kit-client's shapes (POST
// [base]/ for batches and transactions, GET [base]/?_type= for a system
// search) go through; another patient's resource, read, vread or history,
// answers exactly as a missing one does.
//
// Without the gateway, medplum is also the reference for fhirauth's scope
// constraint matcher (constraint_test.go): for about 9,600 pairs of a
// resource and a SMART v2 constraint such as category=laboratory (a seeded
// generator and hand-picked hostile cases, token parameters on
// CodeableConcept, Coding, Identifier, code and boolean elements,
// reference parameters, a choice element), fhirauth's verdict on a create
// under user/Type.c?param=value must equal whether medplum's search
// Type?param=value returns the resource. The ways medplum departs from
// FHIR R4 are tolerated only where a check shows that they account for the
// disagreement (deviation_test.go); any other disagreement fails.
//
// medplum is also the reference for how fhirauth reads the FHIR URLs a
// server parses itself rather than through its HTTP stack: a Bundle
// entry's request.url, If-None-Exist and a Subscription's criteria
// (querydiff_test.go). For about 700 hostile URLs (escaped delimiters,
// "+", double encoding, ";", "#", empty names and values, repeated and
// case-variant names, invalid UTF-8, controls, modifiers, prefixes,
// chains, _has, lists with escaped commas, and a seeded random mix),
// every one fhirauth accepts must read, in medplum's batch router
// (queryparse.mjs) and in its parseSearchRequest of the string, as the
// same (name, value) pairs fhirauth judged, and so must the query the
// gateway writes from them; each parameter without a modifier, as every
// narrowing is, must be a filter of the same code and value. A Bundle
// entry whose url holds a tab, which medplum's router drops, is refused
// through the gateway (entryurl_test.go).
//
// The package has no API: it is its tests and this documentation.
package medplum
