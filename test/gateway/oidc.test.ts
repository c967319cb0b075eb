import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('OIDC JWTs', () => {
  let issuerServer: Server;
  let issuer: string;
  let gw: TestGateway;
  let sign: (
    claims: Record<string, unknown>,
    options?: { audience?: string; expiresIn?: string; foreign?: boolean },
  ) => Promise<string>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const stranger = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    issuerServer = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') {
        res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
      } else if (req.url === '/keys') {
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
    const address = issuerServer.address();
    issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    sign = (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(issuer)
        .setAudience(options.audience ?? 'commander')
        .setSubject('user-1')
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(options.foreign ? stranger.privateKey : privateKey);
    gw = await startTestGateway({
      oidc: {
        issuer,
        audience: 'commander',
        clientId: 'commander',
        workspaceClaim: 'commander_workspace',
        roleClaim: 'commander_role',
        userClaim: 'email',
      },
    });
    await gw.token('viewer', 'alpha'); // creates the workspace
  });
  afterAll(async () => {
    await gw.close();
    issuerServer.close();
  });

  const bearer = (jwt: string) => ({ headers: { authorization: `Bearer ${jwt}` } });

  it('maps the claims to workspace, role and user (discovering the JWKS)', async () => {
    const jwt = await sign({
      commander_workspace: 'alpha',
      commander_role: 'operator',
      email: 'ada@example.com',
    });
    const res = await gw.request('POST', '/api/v1/clusters', { ...bearer(jwt), body: { name: 'from-oidc' } });
    expect(res.status).toBe(201);
    expect(gw.audit.at(-1)).toMatchObject({
      user_type: 'User',
      user_name: 'ada@example.com',
      workspace_slug: 'alpha',
    });
    const viewer = await sign({ commander_workspace: 'alpha', commander_role: 'viewer' });
    expect((await gw.request('GET', '/api/v1/clusters', bearer(viewer))).body).toHaveLength(1);
    expect(
      (await gw.request('POST', '/api/v1/clusters', { ...bearer(viewer), body: { name: 'x' } })).status,
    ).toBe(403);
  });

  it('refuses wrong audience, expired, foreign-signed, unknown workspace and missing claims', async () => {
    const claims = { commander_workspace: 'alpha', commander_role: 'admin' };
    const bad = [
      await sign(claims, { audience: 'someone-else' }),
      await sign(claims, { expiresIn: '-1m' }),
      await sign(claims, { foreign: true }),
      await sign({ commander_workspace: 'nowhere', commander_role: 'admin' }),
      await sign({ commander_workspace: 'alpha', commander_role: 'superuser' }),
      'a.b.c',
    ];
    for (const jwt of bad) {
      const res = await gw.request('GET', '/api/v1/clusters', bearer(jwt));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    }
  });

  it('refuses signed claims the database could not store or look up, naming the claim', async () => {
    const audits = async () => (await gw.db.sql`select count(*)::int as n from audit_records`)[0]?.n;
    const before = await audits();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ commander_workspace: 'al\u0000pha', commander_role: 'admin' }, /commander_workspace/],
      [{ commander_workspace: '\ud800', commander_role: 'admin' }, /commander_workspace/],
      [{ commander_workspace: 'x'.repeat(300), commander_role: 'admin' }, /commander_workspace/],
      [{ commander_workspace: 'alpha', commander_role: 'admin', email: 'ada\u0000@example.com' }, /email/],
      [{ commander_workspace: 'alpha', commander_role: 'admin', email: 'ada\udfff' }, /email/],
      [{ commander_workspace: 'alpha', commander_role: 'admin', email: 'a'.repeat(300) }, /email/],
    ];
    for (const [claims, names] of cases) {
      const res = await gw.request('POST', '/api/v1/clusters', {
        ...bearer(await sign(claims)),
        body: { name: 'claimed' },
      });
      expect(res.status, res.text.slice(0, 200)).toBe(401);
      expect(res.body.error.message).toMatch(names);
    }
    expect(await audits()).toBe(before);
  });

  it('takes the role from workspace role bindings of the user or its groups, the strongest winning', async () => {
    const admin = await gw.globalToken('global_admin');
    const [workspace] = await gw.db.sql`select id from workspaces where slug = 'alpha'`;
    const bind = async (subject_kind: string, subject_name: string, role: string) => {
      const res = await gw.request('POST', '/api/v1/workspace_role_bindings', {
        token: admin,
        body: { workspace_id: workspace?.id, role, subject_kind, subject_name },
      });
      expect(res.status, res.text).toBe(201);
      return res.body.id as string;
    };
    const jwt = await sign({
      commander_workspace: 'alpha',
      email: 'bob@example.com',
      groups: ['devs', 'ops'],
    });
    const create = (name: string) =>
      gw.request('POST', '/api/v1/clusters', { ...bearer(jwt), body: { name } });

    const unbound = await gw.request('GET', '/api/v1/clusters', bearer(jwt));
    expect(unbound.status).toBe(401);
    expect(unbound.body.error.message).toContain('workspace role binding');

    await bind('group', 'devs', 'viewer');
    expect((await gw.request('GET', '/api/v1/clusters', bearer(jwt))).status).toBe(200);
    expect((await create('bound-1')).status).toBe(403);

    const user = await bind('user', 'bob@example.com', 'operator');
    const created = await create('bound-2');
    expect(created.status, created.text).toBe(201);
    expect(gw.audit.at(-1)).toMatchObject({ user_type: 'User', user_name: 'bob@example.com' });

    // Archiving the binding takes the role away at once.
    await gw.request('DELETE', `/api/v1/workspace_role_bindings/${user}`, { token: admin });
    expect((await create('bound-3')).status).toBe(403);

    // A role claim and a binding: the stronger one counts.
    const claimed = await sign({
      commander_workspace: 'alpha',
      commander_role: 'viewer',
      email: 'carol@example.com',
      groups: ['ops'],
    });
    await bind('group', 'ops', 'operator');
    expect(
      (await gw.request('POST', '/api/v1/clusters', { ...bearer(claimed), body: { name: 'bound-4' } }))
        .status,
    ).toBe(201);
  });
});
