import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../shared/ssh-key.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('clusters', () => {
  let gw: TestGateway;
  let token: string;
  const key = generateSshKeyPair();

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('operator');
  });
  afterAll(() => gw.close());

  it('creates, reads, lists and updates a cluster with the contract fields', async () => {
    const before = Date.now();
    const created = await gw.request('POST', '/api/v1/clusters', {
      token,
      body: {
        name: 'prod-1',
        values: { platform_version: '1.0', nodes: { count: 3 } },
        allowed_targets: ['10.0.0.1:22'],
      },
    });
    const after = Date.now();
    expect(created.status).toBe(201);
    const cluster = created.body;
    expect(cluster).toMatchObject({
      name: 'prod-1',
      values: { platform_version: '1.0', nodes: { count: 3 } },
      status: 'new',
      agent_status: 'never_connected',
      current_revision: 0,
      archived_at: null,
      ssh: null,
      allowed_targets: ['10.0.0.1:22'],
    });
    expect(cluster.id).toMatch(/^[0-9a-f-]{36}$/);
    // Stamped while the request was in flight (the database's clock is the machine's).
    expect(Date.parse(cluster.created_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(cluster.created_at)).toBeLessThanOrEqual(after);

    // Commander's fields, for a cluster not made from a template.
    expect(cluster).toMatchObject({
      cluster_template_version_id: null,
      cluster_template_version_switched_at: null,
      registry_id: null,
      was_created: false,
      is_locked: false,
      cluster_type: null,
      connection_hosts: { masters: [] },
      render_errors: [],
      cluster_agent_data: [],
      archive_number: null,
      desired_resources_rendered: null,
      registry_mode: 'Direct',
      resources_state_results: [],
    });
    // Milliseconds and an offset.
    expect(cluster.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$/);

    expect((await gw.request('GET', `/api/v1/clusters/${cluster.id}`, { token })).body).toEqual(cluster);
    // Lists leave the rendered texts and per-resource results out.
    const listed = Object.fromEntries(
      Object.entries(cluster).filter(
        ([key]) => !key.endsWith('_rendered') && key !== 'resources_state_results',
      ),
    );
    expect((await gw.request('GET', '/api/v1/clusters', { token })).body).toEqual([listed]);

    // PUT replaces the whole object and carries the revision read.
    const updated = await gw.request('PUT', `/api/v1/clusters/${cluster.id}`, {
      token,
      body: { values: { platform_version: '1.1' }, name: 'prod-one', current_revision: 0 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      name: 'prod-one',
      values: { platform_version: '1.1' },
      allowed_targets: ['10.0.0.1:22'],
      current_revision: 1,
    });
    const stale = await gw.request('PUT', `/api/v1/clusters/${cluster.id}`, {
      token,
      body: { values: {}, name: 'prod-one', current_revision: 0 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('REVISION_CONFLICT');
    expect(stale.body.error.message).toContain('revision_conflict');
    const nameless = await gw.request('PUT', `/api/v1/clusters/${cluster.id}`, {
      token,
      body: { values: {}, current_revision: 1 },
    });
    expect(nameless.status).toBe(400);
    expect(nameless.body.error.message).toContain('name');
    const revisionless = await gw.request('PUT', `/api/v1/clusters/${cluster.id}`, {
      token,
      body: { name: 'prod-one' },
    });
    expect(revisionless.status).toBe(400);
    expect(revisionless.body.error.message).toContain('current_revision');
    expect(Date.parse(updated.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(cluster.updated_at));
    // no task for a cluster without ssh settings
    expect((await gw.request('GET', `/api/v1/tasks?cluster_id=${cluster.id}`, { token })).body).toEqual([]);
  });

  it('keeps names unique per workspace (409) but not across workspaces', async () => {
    await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'dup' } });
    const again = await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'dup' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('NAME_TAKEN');
    const other = await gw.token('operator', 'gamma');
    expect(
      (await gw.request('POST', '/api/v1/clusters', { token: other, body: { name: 'dup' } })).status,
    ).toBe(201);
    const [row] = await gw.db.sql`select count(*)::int as n from clusters where name = 'dup'`;
    expect(row?.n).toBe(2);
  });

  it('takes free-text names: spaces and any printable Unicode, no control characters, at most 255', async () => {
    for (const name of ['Prod cluster #1', 'кластер (тест)', '本番 🚀', 'a'.repeat(255)]) {
      const created = await gw.request('POST', '/api/v1/clusters', { token, body: { name } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.name).toBe(name);
    }
    for (const name of ['', '   ', 'tab\there', 'line\nbreak', 'a'.repeat(256), 'nul\u0007bell']) {
      const refused = await gw.request('POST', '/api/v1/clusters', { token, body: { name } });
      expect(refused.status, JSON.stringify(name)).toBe(400);
      expect(refused.body.error.message).toContain('body/name');
    }
  });

  it('stores the ssh private key encrypted and queues an install task', async () => {
    const res = await gw.request('POST', '/api/v1/clusters', {
      token,
      body: {
        name: 'ssh-1',
        ssh: { host: 'master.example', port: 2222, user: 'root', private_key: key.private },
      },
    });
    expect(res.status).toBe(201);
    const [row] = await gw.db.sql`select ssh_private_key from clusters where id = ${res.body.id}`;
    const stored = row?.ssh_private_key as string;
    expect(stored.startsWith('enc:v1:r:')).toBe(true);
    for (const line of key.private.split('\n').filter((l) => l.length > 10))
      expect(stored).not.toContain(line);
    expect(gw.encryptor.decrypt(stored)).toBe(key.private);

    const tasks = await gw.request('GET', `/api/v1/tasks?cluster_id=${res.body.id}`, { token });
    expect(tasks.body).toHaveLength(1);
    expect(tasks.body[0]).toMatchObject({
      kind: 'install',
      status: 'pending',
      attempts: 0,
      log: '',
      error: null,
    });
    const task = await gw.request('GET', `/api/v1/tasks/${tasks.body[0].id}`, { token });
    expect(task.body).toEqual(tasks.body[0]);
  });

  it('starts deletion with a delete task, cancels pending work, and is idempotent', async () => {
    const created = await gw.request('POST', '/api/v1/clusters', {
      token,
      body: { name: 'doomed', ssh: { host: '10.1.1.1', user: 'root', private_key: key.private } },
    });
    const deleted = await gw.request('DELETE', `/api/v1/clusters/${created.body.id}`, { token });
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('delete');
    expect(deleted.body.is_locked).toBe(true);
    const again = await gw.request('DELETE', `/api/v1/clusters/${created.body.id}`, { token });
    expect(again.body.status).toBe('delete');
    const tasks = await gw.request('GET', `/api/v1/tasks?cluster_id=${created.body.id}`, { token });
    const byKind = Object.fromEntries(
      tasks.body.map((t: { kind: string; status: string }) => [t.kind, t.status]),
    );
    expect(byKind).toEqual({ install: 'cancelled', delete: 'pending' });
    expect(tasks.body).toHaveLength(2);
  });

  it('leaves deleted clusters out of lists with without_archived=true, and frees their name', async () => {
    const created = await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'old' } });
    await gw.db
      .sql`update clusters set status = 'deleted', archived_at = now() where id = ${created.body.id}`;
    const names = async (query: string) =>
      (await gw.request('GET', `/api/v1/clusters${query}`, { token })).body.map(
        (c: { name: string }) => c.name,
      );
    // As in Commander: lists hold deleted clusters unless asked not to.
    expect(await names('')).toContain('old');
    expect(await names('?without_archived=true')).not.toContain('old');
    expect(await names('?include_archived=true')).toContain('old');
    expect(await names('?include_archived=false')).not.toContain('old');
    const read = await gw.request('GET', `/api/v1/clusters/${created.body.id}`, { token });
    expect(read.body).toMatchObject({ status: 'deleted' });
    expect(read.body.archived_at).not.toBeNull();
    const put = await gw.request('PUT', `/api/v1/clusters/${created.body.id}`, {
      token,
      body: { name: 'old', values: {}, current_revision: created.body.current_revision },
    });
    expect(put.status).toBe(409);
    expect((await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'old' } })).status).toBe(201);
  });
});

describe('audit', () => {
  let gw: TestGateway;
  let token: string;
  const key = generateSshKeyPair();

  beforeAll(async () => {
    gw = await startTestGateway();
    token = await gw.token('admin');
  });
  afterAll(() => gw.close());

  it('writes one row and one [audit] line per change, secrets masked', async () => {
    const created = await gw.request('POST', '/api/v1/clusters', {
      token,
      headers: { 'x-forwarded-for': '203.0.113.9' },
      body: { name: 'audited', ssh: { host: 'h1', user: 'root', private_key: key.private } },
    });
    const id = created.body.id as string;
    await gw.request('PUT', `/api/v1/clusters/${id}`, {
      token,
      body: {
        name: 'audited',
        current_revision: 0,
        values: { a: 1 },
        ssh: { host: 'h2', user: 'root', private_key: key.private },
      },
    });
    await gw.request('DELETE', `/api/v1/clusters/${id}`, { token });
    const issued = await gw.request('POST', '/api/v1/tokens', {
      token,
      body: { name: 'robot', role: 'viewer' },
    });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^cmdr_/);
    // a failed change writes nothing
    await gw.request('POST', '/api/v1/clusters', { token, body: { name: 'audited' } });

    const lines = gw.auditLines.join('\n');
    expect(gw.auditLines).toHaveLength(4);
    expect(lines).not.toContain('PRIVATE KEY');
    expect(lines).not.toContain(issued.body.token);
    const records = gw.auditLines.map((line) => JSON.parse(line.slice(line.indexOf('{'))));
    expect(records.map((r) => [r.auditable_type, r.action])).toEqual([
      ['Cluster', 'create'],
      ['Cluster', 'update'],
      ['Cluster', 'destroy'],
      ['AuthToken', 'create'],
    ]);
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual(
        [
          'action',
          'audited_changes',
          'auditable_id',
          'auditable_type',
          'remote_address',
          'request_uuid',
          'user_name',
          'user_type',
          'workspace_slug',
        ].sort(),
      );
      expect(record).toMatchObject({
        user_type: 'AuthToken',
        user_name: 'admin-alpha',
        workspace_slug: 'alpha',
      });
      expect(record.request_uuid).toMatch(/^[0-9a-f-]{36}$/);
      expect(record.remote_address).toBe('127.0.0.1');
    }
    expect(records[0].audited_changes).toMatchObject({ status: 'new' });
    expect(records[0].audited_changes.ssh).toEqual({
      host: 'h1',
      port: 22,
      user: 'root',
      private_key: '[FILTERED]',
    });
    expect(records[1].audited_changes.values).toEqual([{}, { a: 1 }]);
    expect(records[1].audited_changes.ssh[1]).toMatchObject({ host: 'h2', private_key: '[FILTERED]' });
    expect(records[1].audited_changes.current_revision).toEqual([0, 1]);
    expect(records[2].audited_changes).toEqual({ status: ['new', 'delete'] });
    // The token's record names it and its role, and nothing else: no token, masked or not.
    expect(records[3].audited_changes).toEqual({ name: 'robot', role: 'viewer' });

    const history = await gw.request('GET', `/api/v1/audit?auditable_id=${id}`, { token });
    expect(history.body.map((r: { action: string }) => r.action)).toEqual(['destroy', 'update', 'create']);
    expect(history.body[2].audited_changes.ssh.private_key).toBe('[FILTERED]');
    const [raw] = await gw.db
      .sql`select count(*)::int as n from audit_records where audited_changes::text like '%PRIVATE KEY%'`;
    expect(raw?.n).toBe(0);
    const paged = await gw.request('GET', `/api/v1/audit?limit=2`, { token });
    expect(paged.body).toHaveLength(2);
    const older = await gw.request('GET', `/api/v1/audit?before_id=${paged.body[1].id}`, { token });
    expect(older.body.map((r: { id: number }) => r.id)).toEqual(
      history.body
        .slice(1)
        .map((r: { id: number }) => r.id)
        .filter((n: number) => n < paged.body[1].id),
    );
  });
});
