// A real OpenID Connect provider (panva/oidc-provider) for the OIDC tests, on loopback only.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json: {"keys": {"keys": [private JWKs, the first signs]},
//               "clients": [{"client_id", "client_secret", "roles": [...]}],
//               "resources": {"<resource indicator>": {"ttl": seconds}},
//               "roles_claim": "realm_access.roles", "alg": "ES256"}
// It listens on 127.0.0.1 on a free port and prints "listening <issuer>" once ready. On SIGHUP
// it reads CONFIG.json again and serves a new provider (new keys: key rotation) on the same
// address, then prints "reloaded <kid of the signing key>". Other lines (the provider's
// notices) may come between.
// Access tokens come from the client_credentials grant with an RFC 8707 resource indicator:
// JWTs whose "aud" is the resource, carrying the client's roles in the configured claim.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const configPath = process.argv[2];

function nested(path, value) {
  // "realm_access.roles" -> {realm_access: {roles: value}}
  return path.split('.').reduceRight((inner, part) => ({ [part]: inner }), value);
}

function build(issuer) {
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  const rolesOf = new Map(config.clients.map((c) => [c.client_id, c.roles ?? []]));
  const provider = new Provider(issuer, {
    jwks: config.keys,
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: config.alg ?? 'RS256',
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, resource) {
          const found = config.resources[resource];
          if (!found) throw new errors.InvalidTarget();
          return {
            scope: 'gis',
            audience: resource,
            accessTokenTTL: found.ttl ?? 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: config.alg ?? 'RS256' } },
          };
        },
      },
    },
    scopes: ['gis'],
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: { ClientCredentials: 300 },
    extraTokenClaims(_ctx, token) {
      return {
        preferred_username: token.clientId,
        ...nested(config.roles_claim ?? 'roles', rolesOf.get(token.clientId) ?? []),
      };
    },
  });
  provider.proxy = false;
  return { provider, kid: config.keys.keys[0].kid };
}

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  let current = build(issuer).provider.callback();
  server.on('request', (req, res) => current(req, res));
  process.on('SIGHUP', () => {
    const next = build(issuer);
    current = next.provider.callback();
    console.log(`reloaded ${next.kid}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  console.log(`listening ${issuer}`);
});
