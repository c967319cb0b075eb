// Container registries: CRUD with archive, the credentials encrypted and never answered, audited
// or logged, workspace isolation, and the registry.json an installer gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBundle } from '../../manager/bundle.js';
import { installerRegistry } from '../../shared/registries.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const PASSWORD = 's3cr3t-Pa55word';
const AUTH = Buffer.from(`robot:${PASSWORD}`).toString('base64');
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

describe('registries', () => {
  let gw: TestGateway;
  const logs: string[] = [];
  let operator: string;
  let viewer: string;
  let stranger: string;

  beforeAll(async () => {
    gw = await startTestGateway({ logs });
    operator = await gw.token('operator', 'alpha');
    viewer = await gw.token('viewer', 'alpha');
    stranger = await gw.token('admin', 'beta');
  });
  afterAll(() => gw.close());

  const create = (body: object, token = operator) =>
    gw.request('POST', '/api/v1/registries', { token, body });

  /** Neither the base64 credentials nor the password may show anywhere but encrypted in the row. */
  const expectSecretHidden = async () => {
    for (const [where, text] of [
      ['audit lines', gw.auditLines.join('\n')],
      ['logs', logs.join('\n')],
      ['audit rows', JSON.stringify(await gw.db.sql`select * from audit_records`)],
    ] as const) {
      expect(text, where).not.toContain(AUTH);
      expect(text, where).not.toContain(PASSWORD);
    }
  };

  it('stores the credentials encrypted and answers only that they are set', async () => {
    const created = await create({
      name: 'Deckhouse EE',
      images_repo: 'registry.deckhouse.io/deckhouse/ee',
      scheme: 'https',
      dev_branch: 'main',
      auth: AUTH,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Deckhouse EE',
      images_repo: 'registry.deckhouse.io/deckhouse/ee',
      scheme: 'https',
      dev_branch: 'main',
      auth_set: true,
      current_revision: 0,
      archived_at: null,
      archive_number: null,
    });
    expect(created.body).not.toHaveProperty('auth');
    expect(created.text).not.toContain(AUTH);
    const read = await gw.request('GET', `/api/v1/registries/${created.body.id}`, { token: viewer });
    const list = await gw.request('GET', '/api/v1/registries', { token: viewer });
    for (const res of [read, list]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(AUTH);
      expect(res.text).not.toContain(PASSWORD);
    }
    const [row] = await gw.db.sql`select auth from registries where id = ${created.body.id}`;
    expect(row?.auth).toMatch(/^enc:v1:r:/);
    expect(gw.encryptor.decrypt(row?.auth)).toBe(AUTH);

    const audit = gw.audit.find((r) => r.auditable_id === created.body.id);
    expect(audit).toMatchObject({
      auditable_type: 'Registry',
      action: 'create',
      user_type: 'AuthToken',
      user_name: 'operator-alpha',
      audited_changes: { name: 'Deckhouse EE', auth: '[FILTERED]' },
    });
    await expectSecretHidden();
  });

  it('defaults to https with no branch and no credentials', async () => {
    const created = await create({ name: 'public', images_repo: 'registry.example.com:5000/platform' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ scheme: 'https', dev_branch: null, auth_set: false });
  });

  it('refuses bad fields with a 400 naming the field, never quoting the credentials', async () => {
    const base = { name: 'bad', images_repo: 'registry.example.com/x' };
    const cases: Array<[object, string]> = [
      [{ ...base, images_repo: 'https://registry.example.com/x' }, 'body/images_repo'],
      [{ ...base, images_repo: 'registry.example.com/UPPER' }, 'body/images_repo'],
      [{ ...base, scheme: 'ftp' }, 'body/scheme'],
      [{ ...base, dev_branch: 'a b' }, 'body/dev_branch'],
      [{ ...base, auth: 'not base64!' }, 'body/auth'],
      [{ ...base, auth: Buffer.from('no-colon-here').toString('base64') }, 'body/auth'],
      [{ ...base, auth: Buffer.from(':password-only').toString('base64') }, 'body/auth'],
      [{ ...base, auth: 'A'.repeat(5000) }, 'body/auth'],
      [{ ...base, name: '' }, 'body/name'],
      [{ images_repo: 'registry.example.com/x' }, 'name'],
      [{ ...base, password: 'x' }, 'password'],
    ];
    for (const [body, field] of cases) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.message).toContain(field);
    }
    const leaky = Buffer.from('no-colon-but-secret').toString('base64');
    const res = await create({ ...base, auth: leaky });
    expect(res.text).not.toContain(leaky);
    expect(res.text).not.toContain('no-colon-but-secret');
    expect(
      (await gw.db.sql`select count(*)::int as n from registries where name = 'bad'`)[0]?.n,
      'nothing half-written',
    ).toBe(0);
  });

  it('changes fields, keeps or removes the credentials, and refuses a stale revision', async () => {
    const created = await create({ name: 'mirror', images_repo: 'mirror.example.com/dkp', auth: AUTH });
    const id = created.body.id;
    const [{ auth: stored } = {}] = await gw.db.sql`select auth from registries where id = ${id}`;
    const renamed = await gw.request('PUT', `/api/v1/registries/${id}`, {
      token: operator,
      body: { name: 'mirror-eu', scheme: 'http', current_revision: 0 },
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(renamed.body).toMatchObject({
      name: 'mirror-eu',
      scheme: 'http',
      images_repo: 'mirror.example.com/dkp',
      auth_set: true,
      current_revision: 1,
    });
    expect((await gw.db.sql`select auth from registries where id = ${id}`)[0]?.auth).toBe(stored);

    const stale = await gw.request('PUT', `/api/v1/registries/${id}`, {
      token: operator,
      body: { name: 'x', current_revision: 0 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('REVISION_CONFLICT');
    expect(stale.text).toContain('revision_conflict');

    const newAuth = Buffer.from(`robot:${PASSWORD}-2`).toString('base64');
    const replaced = await gw.request('PUT', `/api/v1/registries/${id}`, {
      token: operator,
      body: { auth: newAuth },
    });
    expect(replaced.body.auth_set).toBe(true);
    expect(replaced.text).not.toContain(newAuth);
    expect(
      gw.encryptor.decrypt((await gw.db.sql`select auth from registries where id = ${id}`)[0]?.auth),
    ).toBe(newAuth);
    const removed = await gw.request('PUT', `/api/v1/registries/${id}`, {
      token: operator,
      body: { auth: null },
    });
    expect(removed.body.auth_set).toBe(false);
    expect((await gw.db.sql`select auth from registries where id = ${id}`)[0]?.auth).toBeNull();

    const updates = gw.audit.filter((r) => r.auditable_id === id && r.action === 'update');
    expect(updates[0]?.audited_changes).toEqual({ name: ['mirror', 'mirror-eu'], scheme: ['https', 'http'] });
    expect(updates[1]?.audited_changes).toEqual({ auth: '[FILTERED]' });
    expect(gw.auditLines.join('\n')).not.toContain(newAuth);

    const taken = await gw.request('PUT', `/api/v1/registries/${id}`, {
      token: operator,
      body: { name: 'public' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('NAME_TAKEN');
    await expectSecretHidden();
  });

  it('archives, frees the name, and refuses while a live cluster uses it', async () => {
    const created = await create({ name: 'in-use', images_repo: 'r.example.com/a' });
    const id = created.body.id;
    const [workspace] = await gw.db.sql`select id from workspaces where slug = 'alpha'`;
    const [cluster] = await gw.db.sql`insert into clusters (workspace_id, name, registry_id)
      values (${workspace?.id}, 'uses-registry', ${id}) returning id`;
    const refused = await gw.request('DELETE', `/api/v1/registries/${id}`, { token: operator });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('uses-registry');

    await gw.db.sql`update clusters set archived_at = now() where id = ${cluster?.id}`;
    const archived = await gw.request('DELETE', `/api/v1/registries/${id}`, { token: operator });
    expect(archived.status, archived.text).toBe(200);
    expect(archived.body).toMatchObject({ archive_number: '1' });
    expect(archived.body.archived_at).not.toBeNull();
    const again = await gw.request('DELETE', `/api/v1/registries/${id}`, { token: operator });
    expect(again.body.archived_at).toBe(archived.body.archived_at);
    expect(
      (await gw.request('PUT', `/api/v1/registries/${id}`, { token: operator, body: { name: 'z' } })).status,
    ).toBe(409);
    expect((await create({ name: 'in-use', images_repo: 'r.example.com/b' })).status).toBe(201);

    const all = await gw.request('GET', '/api/v1/registries', { token: viewer });
    const live = await gw.request('GET', '/api/v1/registries?without_archived=true', { token: viewer });
    expect(all.body.some((r: { id: string }) => r.id === id)).toBe(true);
    expect(live.body.some((r: { id: string }) => r.id === id)).toBe(false);
    expect(gw.audit.filter((r) => r.auditable_id === id).map((r) => r.action)).toEqual(['create', 'destroy']);
  });

  it("answers another workspace's registry 404 and keeps viewers from changing any", async () => {
    const created = await create({ name: 'private', images_repo: 'r.example.com/p' });
    const id = created.body.id;
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { name: 'stolen' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await gw.request(method, `/api/v1/registries/${id}`, { token: stranger, body });
      expect(res.status, method).toBe(404);
    }
    expect((await gw.request('GET', '/api/v1/registries', { token: stranger })).body).toEqual([]);
    expect((await gw.request('GET', `/api/v1/registries/${NO_SUCH_ID}`, { token: viewer })).status).toBe(404);
    expect((await create({ name: 'v', images_repo: 'r.example.com/v' }, viewer)).status).toBe(403);
  });

  it("gives the installer registry.json (mode 0600) with a dockercfg of the cluster's registry", async () => {
    const created = await create({
      name: 'for-install',
      images_repo: 'registry.example.com:5000/dkp/ee',
      auth: AUTH,
    });
    const [workspace] = await gw.db.sql`select id from workspaces where slug = 'alpha'`;
    const [cluster] = await gw.db.sql`insert into clusters (workspace_id, name, registry_id)
      values (${workspace?.id}, 'installs', ${created.body.id}) returning id`;
    const registry = await installerRegistry(gw.db.sql, gw.encryptor, cluster?.id);
    expect(registry).toEqual({
      imagesRepo: 'registry.example.com:5000/dkp/ee',
      scheme: 'https',
      devBranch: null,
      auth: AUTH,
    });
    const files = renderBundle({
      clusterId: cluster?.id,
      agentUrl: 'http://gw/agent_api/x',
      enrollmentToken: 't',
      allow: [],
      directory: '/tmp/b',
      image: 'agent:1',
      registry,
    });
    const file = files.find((f) => f.name === 'registry.json');
    expect(file?.mode).toBe(0o600);
    const content = JSON.parse(file?.content ?? '{}');
    expect(content).toMatchObject({ images_repo: 'registry.example.com:5000/dkp/ee', scheme: 'https' });
    expect(JSON.parse(Buffer.from(content.dockercfg, 'base64').toString())).toEqual({
      auths: { 'registry.example.com:5000': { auth: AUTH } },
    });
    // A cluster without a registry gets no such file.
    const [bare] = await gw.db
      .sql`insert into clusters (workspace_id, name) values (${workspace?.id}, 'bare') returning id`;
    expect(await installerRegistry(gw.db.sql, gw.encryptor, bare?.id)).toBeUndefined();
  });
});
