// Drives fhir-kit-client, a JavaScript FHIR client nobody here wrote,
// against a FHIR base with a bearer token, and prints one JSON array on
// stdout: for each operation, whether it succeeded, the HTTP status of a
// failure, and the response (or error body) for the caller to check.
//
//   BASE=http://127.0.0.1:8081/fhir TOKEN=... OWN=p1 OTHER=p2 node client.mjs
import { Client } from 'fhir-kit-client';

const { BASE, TOKEN, OWN, OTHER } = process.env;
const client = new Client({ baseUrl: BASE, bearerToken: TOKEN });

const gets = (...urls) => urls.map((url) => ({ request: { method: 'GET', url } }));
const bundleOf = (type, ...urls) => ({ resourceType: 'Bundle', type, entry: gets(...urls) });
const mixed = [`Patient/${OWN}`, `Patient/${OTHER}`, `Observation?patient=Patient/${OTHER}`, 'Observation?_include=Observation:subject'];

async function pages() {
  const seen = [];
  let bundle = await client.search({ resourceType: 'Observation', searchParams: { _count: 2 } });
  const bodies = [bundle];
  while (bundle) {
    seen.push(...(bundle.entry ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`));
    bundle = await client.nextPage({ bundle });
    if (bundle) {
      bodies.push(bundle);
    }
  }
  return { pages: bodies.length, ids: seen, links: bodies.flatMap((b) => (b.link ?? []).map((l) => l.url)), bodies };
}

const operations = {
  capabilityStatement: () => client.capabilityStatement(),
  readOwn: () => client.read({ resourceType: 'Patient', id: OWN }),
  readOther: () => client.read({ resourceType: 'Patient', id: OTHER }),
  searchWithInclude: () => client.search({ resourceType: 'Observation', searchParams: { _include: 'Observation:subject' } }),
  postSearch: () => client.search({ resourceType: 'Observation', searchParams: { status: 'final' }, options: { postSearch: true } }),
  systemSearch: () => client.search({ searchParams: { _type: 'Observation' } }),
  compartmentSearch: () => client.compartmentSearch({ resourceType: 'Observation', compartment: { resourceType: 'Patient', id: OWN } }),
  historyOwn: () => client.resourceHistory({ resourceType: 'Observation', id: `obs-${OWN}-1` }),
  historyOther: () => client.resourceHistory({ resourceType: 'Observation', id: `obs-${OTHER}-1` }),
  nextPage: pages,
  batch: () => client.batch({ body: bundleOf('batch', ...mixed) }),
  transaction: () => client.transaction({ body: bundleOf('transaction', ...mixed) }),
};

const results = [];
for (const [name, op] of Object.entries(operations)) {
  try {
    results.push({ name, ok: true, body: await op() });
  } catch (err) {
    results.push({ name, ok: false, status: err.response?.status ?? 0, body: err.response?.data ?? String(err) });
  }
}
console.log(JSON.stringify(results));
