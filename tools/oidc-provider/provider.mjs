// A real OpenID Connect provider for PACSweb's sign-in tests (panva's certified oidc-provider).
// Not part of the product. Usage: node provider.mjs [port]
//
// Environment:
//   OIDC_PORT            port on 127.0.0.1 (or the first argument); the issuer is http://127.0.0.1:<port>
//   OIDC_CLIENT_ID       the one confidential client (default "pacsweb")
//   OIDC_CLIENT_SECRET   its secret (default "pacsweb-test-secret")
//   OIDC_REDIRECT_URIS   comma-separated redirect URIs of that client (required)
//   OIDC_ACCOUNTS_FILE   JSON {"<login>": {"password", "name", "given_name", "family_name",
//                        "email", "groups": [...]}}, read again at every use so a test can
//                        change someone's groups without a restart; without it, ACCOUNTS below.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node provider.mjs <port> (or OIDC_PORT)');
  process.exit(2);
}
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
if (redirectUris.length === 0) {
  console.error('OIDC_REDIRECT_URIS is required');
  process.exit(2);
}

// A few fixed test accounts: a ward doctor, a PACS administrator's deputy and an administrator.
const ACCOUNTS = {
  ward: {
    password: 'ward-oidc-pw', given_name: 'Wanda', family_name: 'Ward',
    name: 'Wanda Ward', email: 'wanda.ward@hospital.test', groups: ['radiology'],
  },
  staffer: {
    password: 'staffer-oidc-pw', given_name: 'Stan', family_name: 'Staff',
    name: 'Stan Staff', email: 'stan.staff@hospital.test', groups: ['pacs-staff'],
  },
  boss: {
    password: 'boss-oidc-pw', given_name: 'Ada', family_name: 'Admin',
    name: 'Ada Admin', email: 'ada.admin@hospital.test', groups: ['pacs-admins'],
  },
};

function accounts() {
  const file = process.env.OIDC_ACCOUNTS_FILE;
  return file ? JSON.parse(readFileSync(file, 'utf8')) : ACCOUNTS;
}

function findAccount(_ctx, id) {
  const account = accounts()[id];
  if (!account) return undefined;
  return {
    accountId: id,
    async claims() {
      const { password, ...claims } = account;
      return { sub: id, preferred_username: id, email_verified: true, ...claims };
    },
  };
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'pacsweb',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'pacsweb-test-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // mozilla-django-oidc sends the secret in the form body.
    token_endpoint_auth_method: 'client_secret_post',
  }],
  // Each key of `claims` is a scope: "groups" delivers the groups claim.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  findAccount,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test', use: 'sig', alg: 'RS256' }] },
  pkce: { required: () => true },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, title, body) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">
<title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`);
}

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

// The provider's own sign-in and consent pages: plain forms a test (or a browser) submits.
async function interaction(req, res, uid, step) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      const error = step === 'retry' ? '<p role="alert">Wrong user name or password.</p>' : '';
      return page(res, 'Hospital sign-in', `${error}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>User name <input name="login" autocomplete="username" autofocus required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`);
    }
    return page(res, 'Allow access', `<p>${escape(params.client_id)} asks for: ${escape(params.scope)}</p>
<form method="post" action="/interaction/${escape(uid)}/consent"><button type="submit">Allow</button></form>`);
  }
  const form = await readForm(req);
  if (step === 'login') {
    const account = accounts()[form.login];
    if (!account || account.password !== form.password) {
      res.writeHead(303, { location: `/interaction/${uid}?retry` });
      return res.end();
    }
    return provider.interactionFinished(req, res, { login: { accountId: form.login } }, {
      mergeWithLastSubmission: false,
    });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
    mergeWithLastSubmission: true,
  });
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const url = new URL(req.url, issuer);
  const match = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(login|consent))?$/);
  if (!match) return handle(req, res);
  const step = match[2] || (url.searchParams.has('retry') ? 'retry' : '');
  return interaction(req, res, match[1], step).catch((error) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${error.message}`);
  });
});

server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
