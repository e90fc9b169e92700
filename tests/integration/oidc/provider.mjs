// The identity provider of tests/integration/test_oidc.py: npm's oidc-provider (a certified
// OpenID Provider) over TLS on one loopback address, with three accounts and a groups claim.
//
//   node provider.mjs CONFIG.json    prints "listening <url>" once it accepts connections
//
// CONFIG: {npmDir, issuer, host, port, key, cert, client: {id, secret, redirectUri}, accounts:
// {login: {email, name, groups?}}}. The login page is oidc-provider's own development
// interaction (devInteractions: any password; the account is the login name), the page a user
// of a real provider would see in its place. Consent is granted for the one first-party client,
// as identity providers do for their own applications (oidc-provider's "skip consent" recipe,
// loadExistingGrant).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { default: Provider } = await import(
  pathToFileURL(join(config.npmDir, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href
);

const accounts = config.accounts;
const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.client.id,
      client_secret: config.client.secret,
      redirect_uris: [config.client.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const claims = { sub: id, email: account.email, email_verified: true, name: account.name };
        if (account.groups) claims.groups = account.groups;
        return claims;
      },
    };
  },
  async loadExistingGrant(ctx) {
    const { client, session, params } = ctx.oidc;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope(params.scope);
    await grant.save();
    return grant;
  },
  cookies: { keys: ['ai-stack-integration-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.on('authorization.error', (ctx, err) => console.error('authorization.error', err.message));
provider.on('grant.error', (ctx, err) => console.error('grant.error', err.message));

// The issuer's path is the provider's mount point (its routes are relative to it), as Express's
// app.use(path, provider.callback()) would strip it.
const mount = new URL(config.issuer).pathname.replace(/\/$/, '');
const callback = provider.callback();
const server = createServer({ key: readFileSync(config.key), cert: readFileSync(config.cert) }, (req, res) => {
  if (!mount) {
    callback(req, res);
  } else if (req.url === mount || req.url.startsWith(`${mount}/`) || req.url.startsWith(`${mount}?`)) {
    req.originalUrl = req.url;
    req.url = req.url.slice(mount.length) || '/';
    callback(req, res);
  } else {
    res.writeHead(404).end();
  }
});
server.listen(config.port, config.host, () => console.log(`listening ${config.issuer}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
