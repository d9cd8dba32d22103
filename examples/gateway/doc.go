// Command gateway secures a FHIR server you did not write: a reverse proxy
// with fhirwarden's middleware in front of any FHIR server (HAPI, a cloud
// FHIR store, ...).
//
//	go run ./examples/gateway -upstream http://hapi:8080/fhir \
//		-issuer https://idp.example -audience http://127.0.0.1:8081/fhir
//
// Every request needs a bearer token (or, with -dpop, a DPoP-bound one)
// from the issuer, for the audience; the gateway decides it with the
// token's SMART scopes, narrows searches to what the caller may see by
// rewriting the query, checks responses (a resource
// of another patient becomes 404, a search Bundle loses such entries),
// takes batches apart, checks the stored version before patient-context
// and constrained writes and pins the write to it (If-Match), and
// rewrites paging links so that following them goes through the
// gateway, and so is authorized again. The caller's Authorization
// header is not forwarded upstream unless -forward-authorization is given;
// a DPoP proof (DPoP header) never is.
//
// Even with -forward-authorization, only a bearer token is forwarded,
// never a DPoP one: without its proof (made for the gateway's URL, and
// spent there) no upstream can verify it, and an upstream that reads
// the scheme loosely would take the bound token as a bearer token. An
// upstream that needs the caller's token therefore sees DPoP clients'
// requests without one, and refuses them itself; the combination is
// not refused at start-up, so that bearer clients keep working while
// clients move to DPoP.
//
// Only the request headers the FHIR REST API and HTTP need reach the
// upstream: Accept, Accept-Language, Content-Type, Content-Encoding,
// Content-Length, If-Match, If-None-Match, If-Modified-Since,
// If-Unmodified-Since, If-None-Exist, Prefer, Cache-Control,
// X-Request-Id, X-Correlation-Id, traceparent, tracestate and
// User-Agent, with the X-Forwarded-For, -Host and -Proto the gateway sets
// (a client's own are replaced). Every other header is dropped, in any
// letter case, and its name (not its value) logged at debug: the policy
// decides a request without reading it, and it could select another
// tenant or partition (IBM FHIR's X-FHIR-TENANT-ID and X-FHIR-DSID), or
// make the server write (HAPI's X-Provenance). -forward-header (or
// forward_headers in the file) forwards another one; a header the
// gateway controls (Authorization, DPoP, Host, hop-by-hop headers,
// X-Forwarded-*, Forwarded, X-Real-Ip, Via, method overrides,
// Accept-Encoding, Origin, Expect, Access-Control-*) is a start-up error.
//
// Browser apps on other origins (SMART apps served from their own host)
// may call the gateway when their origin is given with -cors-origin
// (repeatable; cors_origins in the file): an exact origin as a browser
// sends it (https://app.example, lower case, no path, no default port),
// or "*" for any. "null" cannot be allowed (any sandboxed page sends
// it), and Access-Control-Allow-Credentials is never sent: the app's
// bearer token is no ambient credential, so "*" grants nothing a token
// does not. The gateway answers a preflight (OPTIONS with
// Access-Control-Request-Method) itself, without a token and without
// asking the upstream: 204 with the methods it serves, the request
// headers it accepts (Authorization, DPoP with -dpop, and the forwarded
// ones) and
// Access-Control-Max-Age 600 for an allowed origin; 403 and no CORS
// headers for any other, or for a request with more than one Origin.
// Every other answer for an allowed origin, 401 and 403 included (so the
// app can read why), carries Access-Control-Allow-Origin and
// Access-Control-Expose-Headers (Location, Content-Location, ETag,
// Last-Modified, WWW-Authenticate, Retry-After, X-Request-Id, and
// DPoP-Nonce with -dpop); all carry
// Vary: Origin. The upstream's own Access-Control-* headers are dropped
// whether or not -cors-origin is given.
//
// The gateway starts even when the issuer or the upstream is not reachable
// yet: it retries in the background (backoff up to 30 s) and answers FHIR
// requests 503 with Retry-After and an OperationOutcome until the issuer's
// keys (and, without -fhir-version, the upstream's FHIR version) arrive.
// Outside the FHIR base it serves, without a token:
//
//	GET /healthz   200 while the process runs (liveness)
//	GET /readyz    200 when the issuer's keys are loaded and the upstream answers GET metadata; 503 and the reason otherwise
//	GET /metrics   Prometheus text format: fhirwarden_decisions_total{interaction,resource_type,outcome,status,reason},
//	               fhirwarden_request_duration_seconds, and the token verifier's cache and JWKS counters
//
// They share the FHIR listener (there is no separate admin listener), so
// whoever reaches the gateway can scrape /metrics. Its labels hold no
// identifiers, and under existence hiding another patient's resource
// counts exactly as a missing one, but the counters still show the
// traffic's volume and mix: where the gateway faces a public network,
// keep /metrics (and /readyz, which names what is down) to the monitoring
// network at the load balancer or proxy in front of it. /readyz and GET
// {base}/metadata share one read of the upstream's CapabilityStatement
// every 5 s, so neither passes a flood of requests on to the upstream.
//
// Bulk Data export (a SMART Backend Services client with system/ scopes)
// passes through, bound to the client that started it. The kick-off
// ($export, decided by the policy: only the types the token may read)
// goes upstream; when the upstream accepts it (202) with a
// Content-Location under its FHIR base, the gateway rewrites that status
// URL to its own and records the job with the identity that started it:
// the verified token's issuer, client id and subject. Polling (GET) and
// cancelling (DELETE) that exact URL (same path, same query), and
// downloading the files the completed manifest lists under the
// upstream's base (rewritten to the gateway, then streamed as they are),
// are proxied only for a token that verifies, has the same issuer,
// client id and subject, and still has the scopes the kick-off needed
// (the policy decides the kick-off again: else 403); the policy cannot
// classify these requests themselves, and they are audited and counted
// like others (interaction "operation").
// A request for a job's URL with a verified token of anyone else is
// decided by the policy as if no job existed, and what the policy
// refuses gets its refusal; but what it allows gets 404, as a missing
// resource, without asking the upstream: a file URL may also be an
// ordinary FHIR URL (HAPI serves export files as Binary/[id]) that the
// policy would let any token with Binary read have, whatever types the
// file holds. For a file that is a Binary, so does any request for that
// Binary by any method, query or path under it (its history), its id
// spelled with leading zeros too when it is all digits (HAPI reads
// Binary/0123 as Binary/123). While a live job's file is a Binary, a
// request that could find it other than by its path (a Binary search
// or history, a system search or history, an untyped _include, a
// conditional write on Binary, a batch entry naming it) that the policy
// allows gets 403 from any client, and the upstream is not asked. A Binary is known as a
// job's file only from the manifest until the job is forgotten: before
// its owner first reads the completed manifest, and after the job is
// cancelled or expires (or when the bound on files is reached), it is
// an ordinary Binary, so grant Binary read only to clients that may see
// every export's files.
// Any other request for those URLs, or one without a token or with a bad
// one, is handled as if no job existed, so it gets what a guessed URL
// gets (401, or the policy's refusal), and the upstream is not asked.
// Files stored elsewhere (requiresAccessToken false) keep their URLs.
// Only a status URL that is a system-level operation the policy does
// not know (not $export, $everything or a registered one) or no FHIR
// interaction, and files that are Binary reads, such operations or no
// FHIR interaction, are recorded: an upstream naming an ordinary FHIR
// URL (Patient?_count=1000, Patient/$everything) as a job's does not
// take it out of the policy's hands, in any spelling: a URL is read as
// the path of plain segments (letters, digits, "-._$") it must be, less
// a trailing "/", and "no FHIR interaction" is such a path the policy
// routes nowhere, whatever its query, and whose first segment is no
// resource type (nor metadata, _history, _search) in any case.
//
// A kick-off goes upstream with Cache-Control: no-cache, which keeps
// HAPI from answering it with the job of an identical earlier request;
// one the upstream still answers with the status URL of another
// client's job records no job: that job stays its starter's. A job is forgotten when its
// cancellation succeeds or 24 h after its kick-off. At most 10 jobs per
// identity and 1,000 in all are held; a kick-off over the bound is
// refused with 429 and Retry-After before it reaches the upstream, and
// one whose token names neither client nor subject with 403.
// Jobs live in the memory of one gateway process: behind several
// replicas, route a client's requests to one replica (sticky sessions),
// since a poll that reaches another replica gets the unknown-URL
// answer; a restart forgets every job. A file download has
// the same 2 minute bound as every upstream exchange.
//
// With -dpop (dpop: enabled: true) the gateway also accepts DPoP-bound
// access tokens (RFC 9449, as Okta, Keycloak and others issue them):
// "Authorization: DPoP <token>" with one "DPoP: <proof>" header. The
// proof is checked on every request, export job URLs included: it must
// name the request's method and its URL under -public-url, the origin
// clients address the gateway by (required: behind a proxy the Host
// header is not the URL the client used, and X-Forwarded-* headers are
// never trusted), be fresh, not replayed, and be signed by the key the
// token is bound to (cnf.jkt), also when the verified token is reused.
// Such a token presented as Bearer is refused, and an unbound token
// presented as DPoP. Refusals are 401 with a "WWW-Authenticate: DPoP"
// challenge (error invalid_dpop_proof, use_dpop_nonce or invalid_token).
// -dpop-nonce-secret FILE (at least 32 bytes) makes every proof carry a
// server nonce (DPoP-Nonce header), which changes every 5 minutes;
// replicas given the same file accept each other's nonces. Spent proofs
// are remembered in the memory of one process (at most 100,000; a full
// cache answers 503): replicas behind a load balancer must share one
// store, or a proof replayed to another replica is accepted there; set
// token.DPoPConfig.Replay in newDPoPScheme to a dpopredis.New store
// (module github.com/fhirwarden/fhirwarden/dpopredis) on a Redis every
// replica reaches.
//
// On SIGINT or SIGTERM it stops accepting connections and waits up to 30 s
// for the requests in flight. CLIENTS.md lists what the common FHIR client
// libraries send and how the gateway answers each shape.
//
// Flags:
//
//	-upstream URL            FHIR base URL of the server to protect (required)
//	-issuer URL              OAuth2/OpenID issuer (discovery at {issuer}/.well-known/openid-configuration;
//	                         required; repeat to trust several, matched exactly against a token's iss)
//	-audience URL            accepted "aud" of access tokens (required; repeatable; usually the
//	                         gateway's FHIR base URL)
//	-profile ISSUER=NAME     claim mapping of an -issuer: smart (default), entra, okta, keycloak,
//	                         auth0, ping, or a JSON file (see token.ClaimMapping)
//	-addr host:port          listen address (default 127.0.0.1:8081)
//	-fhir-version STU3|R4    FHIR version of the upstream (default: read from its CapabilityStatement; a flag that contradicts it is an error)
//	-base /fhir              the gateway's FHIR base path (default /fhir)
//	-shared-types T1,T2      non-patient types patient/ scopes may read (e.g. Practitioner,Organization)
//	-forward-authorization   also send the caller's Authorization header upstream (bearer tokens only)
//	-forward-header NAME     also forward this request header upstream (repeatable)
//	-dpop                    also accept DPoP-bound access tokens (RFC 9449); needs -public-url
//	-public-url URL          origin clients address the gateway by (https://gw.example), which DPoP proofs name
//	-dpop-nonce-secret FILE  secret (at least 32 bytes) of DPoP server nonces (default: no nonces)
//	-cors-origin ORIGIN      let browser apps from ORIGIN (exact, or *) call the gateway (repeatable)
//	-max-response BYTES      largest upstream response that can be checked (default 16 MiB)
//	-config FILE             YAML configuration file (flags override it)
//	-check-config FILE       validate FILE, print what the gateway would enforce, exit
//
// The configuration file is YAML (go.yaml.in/yaml/v3, read strictly:
// unknown keys, duplicate keys, anchors and aliases, and a second
// document are errors, each reported as FILE:LINE: reason):
//
//	listen: 0.0.0.0:8443
//	upstream: http://hapi:8080/fhir
//	base: /fhir
//	fhir_version: R4                 # omit to read it from the upstream
//	issuers:
//	  - issuer: https://login.example/tenant
//	    profile: smart               # smart, entra, okta, keycloak, auth0, ping, or a JSON file
//	    algorithms: [RS256]
//	    jwks_url: https://login.example/keys   # optional: instead of discovery's
//	    allowed_clients: [app-1, app-2]        # optional: only these clients' tokens
//	  - issuer: https://login.microsoftonline.com/TENANT/v2.0
//	    profile: entra
//	audiences: [https://gw.example/fhir, api://fhir]
//	shared_types: [Practitioner, Organization]
//	operations:
//	  - {name: lastn, levels: [type], types: [Observation], permission: s, search: true}
//	limits: {max_response: 16777216}
//	tls: {cert: /etc/gw/cert.pem, key: /etc/gw/key.pem}
//	forward_authorization: false
//	dpop:
//	  enabled: true
//	  public_url: https://gw.example
//	  nonce_secret_file: /etc/gw/dpop-nonce.key   # optional
//	forward_headers: [X-Site]        # request headers forwarded besides the FHIR ones
//	cors_origins: [https://app.example]   # quote "*" in YAML
//
// A token's iss selects its issuer before any key is fetched; every listed
// audience is accepted. -issuer flags (with -profile) replace the file's
// issuers as a whole (an error when one of them has allowed_clients,
// which would lapse), -audience flags its audiences.
package main
