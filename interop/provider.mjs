// An external OpenID provider for fhirwarden's interop tests: panva's
// oidc-provider (OpenID Certified), pinned in package.json, configured like a
// Care Connect / SMART backend-services authorization server:
//
//   - client credentials grant only, RS256 JWT access tokens (typ at+jwt) for the
//     FHIR audience (RFC 8707 resource indicators), lasting 90 minutes;
//   - "interop-basic": client_secret_basic (the Care Connect default);
//   - "interop-jwt": private_key_jwt with RS384 client assertions;
//   - "interop-dpop": client_secret_basic, DPoP-bound tokens only (RFC 9449:
//     dpop_bound_access_tokens, so every token request needs a proof, and its
//     tokens carry cnf.jkt and token_type DPoP); DPoP is on for every client;
//   - SMART scopes registered for the FHIR audience; a second audience exists so
//     that tests can obtain a token that is valid but meant for someone else;
//   - a third audience whose tokens are opaque, for RFC 7662 introspection
//     (oidc-provider introspects opaque tokens only); its answers carry aud.
//
// Configuration comes from the environment:
//   PORT                listen port on 127.0.0.1 (required)
//   AUDIENCE            the FHIR base URL the tokens are for (required)
//   OTHER_AUDIENCE      another resource server (default https://other.example.test/fhir)
//   OPAQUE_AUDIENCE     a resource server given opaque tokens (default https://opaque.example.test/fhir)
//   SIGNING_KEY_FILE    private RSA JWK (JSON) to sign with; generated when absent
//   CLIENT_JWKS_FILE    public JWKS of interop-jwt's assertion key (required)
//   BASIC_SECRET        secret of interop-basic (default interop-secret)
//
// It prints "ready <issuer>" on stdout once it listens.
import crypto from 'node:crypto';
import fs from 'node:fs';
import Provider, { errors } from 'oidc-provider';

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`provider: ${name} is required`);
    process.exit(2);
  }
  return v;
}

const port = Number(need('PORT'));
const audience = need('AUDIENCE');
const otherAudience = process.env.OTHER_AUDIENCE || 'https://other.example.test/fhir';
const opaqueAudience = process.env.OPAQUE_AUDIENCE || 'https://opaque.example.test/fhir';
const issuer = `http://127.0.0.1:${port}`;

let signingKey;
if (process.env.SIGNING_KEY_FILE && fs.existsSync(process.env.SIGNING_KEY_FILE)) {
  signingKey = JSON.parse(fs.readFileSync(process.env.SIGNING_KEY_FILE, 'utf8'));
} else {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  signingKey = privateKey.export({ format: 'jwk' });
  signingKey.kid = crypto.randomUUID();
}
signingKey.alg = 'RS256';
signingKey.use = 'sig';

const clientJWKS = JSON.parse(fs.readFileSync(need('CLIENT_JWKS_FILE'), 'utf8'));

// The nine Care Connect resource types, as SMART v1 and v2 scopes, in all three contexts.
const types = ['Patient', 'Observation', 'Encounter', 'Condition', 'Procedure',
  'AllergyIntolerance', 'MedicationRequest', 'MedicationStatement', 'Immunization'];
const smartScopes = [];
for (const ctx of ['system', 'user']) {
  smartScopes.push(`${ctx}/*.read`, `${ctx}/*.rs`, `${ctx}/*.cruds`);
  for (const t of types) smartScopes.push(`${ctx}/${t}.read`, `${ctx}/${t}.rs`, `${ctx}/${t}.write`);
}
const scopeList = smartScopes.join(' ');

const clientBase = {
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  scope: scopeList,
};

const provider = new Provider(issuer, {
  clients: [
    {
      ...clientBase,
      client_id: 'interop-basic',
      client_secret: process.env.BASIC_SECRET || 'interop-secret',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      ...clientBase,
      client_id: 'interop-dpop',
      client_secret: process.env.BASIC_SECRET || 'interop-secret',
      token_endpoint_auth_method: 'client_secret_basic',
      dpop_bound_access_tokens: true,
    },
    {
      ...clientBase,
      client_id: 'interop-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS384',
      jwks: clientJWKS,
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: ['openid', ...smartScopes],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator === opaqueAudience) {
          return {
            scope: scopeList,
            audience: resourceIndicator,
            accessTokenTTL: 90 * 60,
            accessTokenFormat: 'opaque',
          };
        }
        if (resourceIndicator !== audience && resourceIndicator !== otherAudience) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: scopeList,
          audience: resourceIndicator,
          accessTokenTTL: 90 * 60,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS384', 'ES384'],
  },
  ttl: { ClientCredentials: 90 * 60 },
});

provider.on('server_error', (_ctx, err) => console.error('provider server_error', err));
provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
