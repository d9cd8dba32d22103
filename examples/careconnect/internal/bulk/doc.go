// Package bulk serves FHIR Bulk Data Access exports for careconnect: the
// asynchronous kick-off, status and download flow of the Bulk Data IG
// (https://hl7.org/fhir/uv/bulkdata/) over the example's store.
//
//	GET [base]/$export, [base]/Patient/$export, [base]/Group/[id]/$export
//	    (Prefer: respond-async; _type, _since, _outputFormat)
//	    -> 202 Accepted, Content-Location: [root]/bulk/{job}
//	GET [root]/bulk/{job}        -> 202 with X-Progress and Retry-After, then
//	                                200 with the manifest (requiresAccessToken: true)
//	DELETE [root]/bulk/{job}     -> 202: the job and its files are gone
//	GET [root]/bulk/{job}/{Type}.ndjson -> the NDJSON file
//
// The kick-off is authorized by the fhirwarden middleware in front of it
// (system/ scopes; _type limited to the types the token may read); the
// exporter checks again and exports only types the token's system/
// scopes may read without constraints. The status and file endpoints
// live outside the FHIR base, so the middleware does not see them: they
// authenticate the request themselves, as the middleware does (Bearer,
// or DPoP with a proof for the status or file URL and method, spent in
// the middleware's replay cache; package credential), and answer only
// the client that started the job (anyone else gets 404, as if there
// were no job).
package bulk
