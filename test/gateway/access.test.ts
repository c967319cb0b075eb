// The global side: global tokens, workspaces, global roles, workspace role bindings, and the wall
// between global and workspace callers: every route the server registered, both ways (and each
// of them is in the OpenAPI document).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawExchange, upgradeRequest } from '../support/raw-http.js';

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

describe('global tokens and workspaces', () => {
  let gw: TestGateway;
  let globalAdmin: string;
  let globalViewer: string;
  let workspaceAdmin: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    globalAdmin = await gw.globalToken('global_admin');
    globalViewer = await gw.globalToken('global_viewer');
    workspaceAdmin = await gw.token('admin', 'alpha');
  });
  afterAll(() => gw.close());

  it('creates workspaces with a generated or a given slug, and renames them', async () => {
    const generated = await gw.request('POST', '/api/v1/workspaces', {
      token: globalAdmin,
      body: { name: 'Team Rocket' },
    });
    expect(generated.status, generated.text).toBe(201);
    expect(generated.body).toMatchObject({ name: 'Team Rocket' });
    expect(generated.body.slug).toMatch(/^[a-z]{5}$/);

    const given = await gw.request('POST', '/api/v1/workspaces', {
      token: globalAdmin,
      body: { name: 'Ops', slug: 'ops-eu' },
    });
    expect(given.status, given.text).toBe(201);
    expect(given.body.slug).toBe('ops-eu');

    const taken = await gw.request('POST', '/api/v1/workspaces', {
      token: globalAdmin,
      body: { name: 'Ops again', slug: 'ops-eu' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'NAME_TAKEN' });
    expect(taken.body.error.message).toContain('slug');

    for (const [body, field] of [
      [{ name: 'x', slug: 'Bad Slug' }, 'body/slug'],
      [{ name: '' }, 'body/name'],
      [{ name: 'tab\there' }, 'body/name'],
      [{}, 'name'],
      [{ name: 'x', colour: 'red' }, 'colour'],
    ] as const) {
      const res = await gw.request('POST', '/api/v1/workspaces', { token: globalAdmin, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(field);
    }

    const renamed = await gw.request('PUT', `/api/v1/workspaces/${given.body.id}`, {
      token: globalAdmin,
      body: { name: 'Operations' },
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({ id: given.body.id, name: 'Operations', slug: 'ops-eu' });
    const slugChange = await gw.request('PUT', `/api/v1/workspaces/${given.body.id}`, {
      token: globalAdmin,
      body: { name: 'Operations', slug: 'other' },
    });
    expect(slugChange.status).toBe(400);
    expect(slugChange.body.error.message).toContain('body/slug');
    const stillThere = await gw.request('GET', `/api/v1/workspaces/${given.body.id}`, {
      token: globalViewer,
    });
    expect(stillThere.body).toMatchObject({ name: 'Operations', slug: 'ops-eu' });
    expect(
      (
        await gw.request('PUT', `/api/v1/workspaces/${NO_SUCH_ID}`, {
          token: globalAdmin,
          body: { name: 'n' },
        })
      ).status,
    ).toBe(404);

    const list = await gw.request('GET', '/api/v1/workspaces', { token: globalViewer });
    expect(list.status).toBe(200);
    expect(list.body.map((w: { slug: string }) => w.slug)).toEqual(
      expect.arrayContaining(['alpha', 'ops-eu', generated.body.slug]),
    );

    // Audited as the token that did it, with no workspace of its own.
    const created = gw.audit.find(
      (record) => record.auditable_id === given.body.id && record.action === 'create',
    );
    expect(created).toMatchObject({
      auditable_type: 'Workspace',
      user_type: 'AuthToken',
      user_name: 'global_admin-token',
      workspace_slug: null,
      audited_changes: { name: 'Ops', slug: 'ops-eu' },
    });
    const update = gw.audit.find(
      (record) => record.auditable_id === given.body.id && record.action === 'update',
    );
    expect(update?.audited_changes).toEqual({ name: ['Ops', 'Operations'] });
    // Global callers read the global audit trail, and only it.
    const trail = await gw.request('GET', `/api/v1/audit?auditable_id=${given.body.id}`, {
      token: globalViewer,
    });
    expect(trail.body.map((r: { action: string }) => r.action)).toEqual(['update', 'create']);
    const fromWorkspace = await gw.request('GET', `/api/v1/audit?auditable_id=${given.body.id}`, {
      token: workspaceAdmin,
    });
    expect(fromWorkspace.body).toEqual([]);
  });

  it('lets a global viewer read and not change', async () => {
    expect((await gw.request('GET', '/api/v1/workspaces', { token: globalViewer })).status).toBe(200);
    const refused = await gw.request('POST', '/api/v1/workspaces', {
      token: globalViewer,
      body: { name: 'n' },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('global_admin');
  });

  it('lists the fixed global roles with their permissions', async () => {
    const roles = await gw.request('GET', '/api/v1/global_roles', { token: globalViewer });
    expect(roles.status).toBe(200);
    expect(roles.body.map((r: { name: string }) => r.name)).toEqual(['global_viewer', 'global_admin']);
    const admin = roles.body.find((r: { name: string }) => r.name === 'global_admin');
    expect(admin.permissions).toEqual(
      expect.arrayContaining(['workspaces:write', 'workspace_role_bindings:write']),
    );
    const viewer = roles.body.find((r: { name: string }) => r.name === 'global_viewer');
    expect(viewer.permissions).not.toContain('workspaces:write');
  });

  it('keeps global and workspace callers apart on every route the server registered', async () => {
    const doc = (await gw.request('GET', '/openapi.json')).body;
    const routes = gw.routes.filter((route) => route.path.startsWith('/api/v1/'));
    let globalRoutes = 0;
    let workspaceRoutes = 0;
    const publicRoutes: string[] = [];
    for (const { method, path } of routes) {
      const documented = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()] as
        | { tags?: string[]; security?: unknown[] }
        | undefined;
      // Every route is in the OpenAPI document, which says which kind of token it takes.
      expect(documented, `${method} ${path} is not in the OpenAPI document`).toBeDefined();
      if (path === '/api/v1/audit') continue; // both kinds, each its own records
      if (documented?.security?.length === 0) {
        publicRoutes.push(`${method} ${path}`);
        continue;
      }
      const url = path.replace(/:\w+/g, NO_SUCH_ID);
      const call = (token: string) =>
        gw.request(method, url, { token, body: ['POST', 'PUT'].includes(method) ? {} : undefined });
      if (documented?.tags?.includes('global')) {
        globalRoutes++;
        const res = await call(workspaceAdmin);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error.message, `${method} ${path}`).toContain('global token');
      } else {
        workspaceRoutes++;
        const res = await call(globalAdmin);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error.message, `${method} ${path}`).toContain('global token cannot');
      }
    }
    // Every registered route was tried: the global side's 10 and the workspace's; the one public
    // route is how the web application learns how to sign in.
    expect(publicRoutes).toEqual(['GET /api/v1/auth/methods']);
    expect(globalRoutes).toBe(10);
    expect(workspaceRoutes).toBe(routes.length - globalRoutes - 2);
    expect(workspaceRoutes).toBeGreaterThanOrEqual(45);
  });

  it('answers an unknown or revoked global token 401', async () => {
    expect((await gw.request('GET', '/api/v1/workspaces', { token: 'cmdr_nope' })).status).toBe(401);
    const token = await gw.globalToken('global_viewer');
    await gw.db
      .sql`update api_tokens set revoked_at = now() where workspace_id is null and role = 'global_viewer'`;
    expect((await gw.request('GET', '/api/v1/workspaces', { token })).status).toBe(401);
    globalViewer = await gw.globalToken('global_viewer');
  });

  it('keeps a global token out of the tunnel endpoint', async () => {
    const port = Number(new URL(gw.url).port);
    const answer = await rawExchange(
      port,
      upgradeRequest(`/api/v1/clusters/${NO_SUCH_ID}/tunnel?target=127.0.0.1:22`, {
        'X-Auth-Token': globalAdmin,
      }),
    );
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('global token');
  });
});

describe('workspace role bindings', () => {
  let gw: TestGateway;
  let globalAdmin: string;
  let workspaceId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    globalAdmin = await gw.globalToken('global_admin');
    await gw.token('viewer', 'alpha');
    workspaceId = (await gw.db.sql`select id from workspaces where slug = 'alpha'`)[0]?.id;
  });
  afterAll(() => gw.close());

  const create = (body: object) =>
    gw.request('POST', '/api/v1/workspace_role_bindings', { token: globalAdmin, body });

  it('binds, changes, refuses duplicates and stale revisions, and archives', async () => {
    const created = await create({
      workspace_id: workspaceId,
      role: 'operator',
      subject_kind: 'group',
      subject_name: 'platform-team',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      workspace_id: workspaceId,
      role: 'operator',
      subject_kind: 'group',
      subject_name: 'platform-team',
      current_revision: 0,
      archived_at: null,
      archive_number: null,
    });
    const id = created.body.id;

    const duplicate = await create({
      workspace_id: workspaceId,
      role: 'viewer',
      subject_kind: 'group',
      subject_name: 'platform-team',
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.message).toContain('subject_name');
    // The same name as a user is another subject.
    expect(
      (
        await create({
          workspace_id: workspaceId,
          role: 'viewer',
          subject_kind: 'user',
          subject_name: 'platform-team',
        })
      ).status,
    ).toBe(201);

    for (const [body, field] of [
      [
        { workspace_id: NO_SUCH_ID, role: 'viewer', subject_kind: 'user', subject_name: 'a' },
        'body/workspace_id',
      ],
      [{ workspace_id: workspaceId, role: 'root', subject_kind: 'user', subject_name: 'a' }, 'body/role'],
      [
        { workspace_id: workspaceId, role: 'viewer', subject_kind: 'robot', subject_name: 'a' },
        'body/subject_kind',
      ],
      [
        { workspace_id: workspaceId, role: 'viewer', subject_kind: 'user', subject_name: '' },
        'body/subject_name',
      ],
      [{ workspace_id: workspaceId, role: 'viewer', subject_kind: 'user' }, 'subject_name'],
    ] as const) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(field);
    }

    const changed = await gw.request('PUT', `/api/v1/workspace_role_bindings/${id}`, {
      token: globalAdmin,
      body: { role: 'admin', current_revision: 0 },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ role: 'admin', current_revision: 1 });
    const stale = await gw.request('PUT', `/api/v1/workspace_role_bindings/${id}`, {
      token: globalAdmin,
      body: { role: 'viewer', current_revision: 0 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('REVISION_CONFLICT');
    const moved = await gw.request('PUT', `/api/v1/workspace_role_bindings/${id}`, {
      token: globalAdmin,
      body: { workspace_id: NO_SUCH_ID },
    });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toContain('body/workspace_id');
    expect(gw.audit.filter((r) => r.auditable_id === id).map((r) => [r.auditable_type, r.action])).toEqual([
      ['WorkspaceRoleBinding', 'create'],
      ['WorkspaceRoleBinding', 'update'],
    ]);

    const archived = await gw.request('DELETE', `/api/v1/workspace_role_bindings/${id}`, {
      token: globalAdmin,
    });
    expect(archived.status).toBe(200);
    expect(archived.body.archived_at).not.toBeNull();
    expect(archived.body.archive_number).toBe('1');
    const again = await gw.request('DELETE', `/api/v1/workspace_role_bindings/${id}`, { token: globalAdmin });
    expect(again.body.archived_at).toBe(archived.body.archived_at);
    expect(
      (
        await gw.request('PUT', `/api/v1/workspace_role_bindings/${id}`, {
          token: globalAdmin,
          body: { role: 'viewer' },
        })
      ).status,
    ).toBe(409);

    // The subject is free again; its next archive is the second of that name.
    const rebound = await create({
      workspace_id: workspaceId,
      role: 'viewer',
      subject_kind: 'group',
      subject_name: 'platform-team',
    });
    expect(rebound.status).toBe(201);
    const second = await gw.request('DELETE', `/api/v1/workspace_role_bindings/${rebound.body.id}`, {
      token: globalAdmin,
    });
    expect(second.body.archive_number).toBe('2');

    const all = await gw.request('GET', `/api/v1/workspace_role_bindings?workspace_id=${workspaceId}`, {
      token: globalAdmin,
    });
    expect(all.body).toHaveLength(3);
    const live = await gw.request(
      'GET',
      `/api/v1/workspace_role_bindings?workspace_id=${workspaceId}&without_archived=true`,
      { token: globalAdmin },
    );
    expect(live.body.map((b: { subject_kind: string }) => b.subject_kind)).toEqual(['user']);
    expect(
      (await gw.request('GET', `/api/v1/workspace_role_bindings/${NO_SUCH_ID}`, { token: globalAdmin }))
        .status,
    ).toBe(404);
  });
});
