// The desired-resources API: whole sets in YAML or JSON, content-addressed revisions, and
// validation that rejects a set as a whole with an error per document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { prepareSet, storeDesiredSet } from '../../gateway/desired-state.js';
import { canonicalJson, ManifestParser, sha256 } from '../../shared/manifests.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const yaml = (text: string) => ({ raw: { body: text, contentType: 'application/yaml' } });

const BASE = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: db-password
  namespace: shop
stringData:
  password: hunter2-very-secret
`;

describe('desired resources', () => {
  let gw: TestGateway;
  let operator: string;
  let viewer: string;
  let clusterId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator');
    viewer = await gw.token('viewer');
    const created = await gw.request('POST', '/api/v1/clusters', { token: operator, body: { name: 'shop' } });
    clusterId = created.body.id;
  });
  afterAll(() => gw.close());

  const put = (body: object) =>
    gw.request('PUT', `/api/v1/clusters/${clusterId}/resources`, { token: operator, ...body });
  const get = () => gw.request('GET', `/api/v1/clusters/${clusterId}/resources`, { token: viewer });

  it('stores a YAML set as one revision; the same set again makes none', async () => {
    const first = await put(yaml(BASE));
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({ revision: 1, changed: true, added: 3, updated: 0, removed: 0 });
    const audits = gw.audit.length;

    // The same set, in another order and as JSON, is the same set.
    const again = await put(yaml(`---\n${BASE.split('---').reverse().join('---')}\n---\n`));
    expect(again.body).toMatchObject({
      revision: 1,
      changed: false,
      revision_hash: first.body.revision_hash,
    });
    expect(gw.audit.length).toBe(audits);

    const listed = await get();
    expect(listed.status).toBe(200);
    expect(listed.body.revision).toBe(1);
    expect(listed.body.resources.map((r: { kind: string; name: string }) => `${r.kind}/${r.name}`)).toEqual([
      'Namespace/shop',
      'ConfigMap/settings',
      'Secret/db-password',
    ]);
    for (const resource of listed.body.resources) {
      expect(resource).toMatchObject({
        status: 'pending',
        mode: 'enforced',
        desired: true,
        applied_revision: null,
      });
      expect(resource.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const cluster = await gw.request('GET', `/api/v1/clusters/${clusterId}`, { token: viewer });
    expect(cluster.body.current_revision).toBe(1);
  });

  it('keeps Secret manifests encrypted at rest and never shows them in the API', async () => {
    const rows = await gw.db
      .sql`select kind, manifest from cluster_resources where cluster_id = ${clusterId}`;
    const secret = rows.find((row) => row.kind === 'Secret');
    const configMap = rows.find((row) => row.kind === 'ConfigMap');
    expect(secret?.manifest).toMatch(/^enc:v1:/);
    expect(secret?.manifest).not.toContain('hunter2');
    expect(configMap?.manifest).toContain('blue');
    expect((await get()).text).not.toContain('hunter2');
  });

  it('counts up on a change and marks removed resources until the agent prunes them', async () => {
    const changed = BASE.replace('color: blue', 'color: green').replace(
      /---\napiVersion: v1\nkind: Secret[\s\S]*$/,
      '',
    );
    const result = await put({ body: [...parseJsonSet(changed)] });
    expect(result.status, result.text).toBe(200);
    expect(result.body).toMatchObject({ revision: 2, changed: true, added: 0, updated: 1, removed: 1 });
    const listed = (await get()).body;
    const byName = Object.fromEntries(listed.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.settings).toMatchObject({ desired: true, status: 'pending', revision: 2 });
    expect(byName.shop).toMatchObject({ desired: true, revision: 1 });
    expect(byName['db-password']).toMatchObject({ desired: false, status: 'pending', revision: 2 });
  });

  it('takes a create-once mode from the annotation', async () => {
    const result = await put({
      body: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: 'seed',
            namespace: 'shop',
            annotations: { 'commander.io/management-mode': 'create-once' },
          },
          data: { a: '1' },
        },
      ],
    });
    expect(result.status, result.text).toBe(200);
    const seed = (await get()).body.resources.find((r: { name: string }) => r.name === 'seed');
    expect(seed.mode).toBe('create-once');
  });

  it('rejects an invalid set whole, with an error for each bad document, and keeps the revision', async () => {
    const before = (await get()).body;
    const cases: Array<[string, object, RegExp[]]> = [
      [
        'malformed YAML',
        yaml('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop\n'),
        [/invalid YAML/],
      ],
      [
        'missing kind and name',
        {
          body: [
            { apiVersion: 'v1', metadata: { name: 'x' } },
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
          ],
        },
        [/kind is missing/, /metadata.name is missing/],
      ],
      [
        'duplicates',
        {
          body: [
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'shop' } },
            { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'shop' } },
          ],
        },
        [/duplicates document 0/],
      ],
      [
        'namespace rules',
        {
          body: [
            { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', namespace: 'shop' } },
            { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } },
          ],
        },
        [/cluster-scoped/, /namespaced/],
      ],
      [
        'bad mode',
        {
          body: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: {
                name: 'm',
                namespace: 'shop',
                annotations: { 'commander.io/management-mode': 'sometimes' },
              },
            },
          ],
        },
        [/management-mode/],
      ],
      [
        'oversize manifest',
        {
          body: [
            {
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name: 'big', namespace: 'shop' },
              data: { blob: 'x'.repeat(2 * 1024 * 1024 + 1) },
            },
          ],
        },
        [/at most 2097152/],
      ],
      ['not an array', { body: { apiVersion: 'v1' } }, [/JSON array/]],
    ];
    for (const [what, body, messages] of cases) {
      const result = await put(body);
      expect(result.status, `${what}: ${result.text}`).toBe(400);
      expect(result.body.error.code).toBe('INVALID_MANIFESTS');
      expect(result.body.error.details).toHaveLength(messages.length);
      messages.forEach((message, index) => {
        expect(result.body.error.details[index].message, what).toMatch(message);
      });
    }
    const after = (await get()).body;
    expect(after.revision).toBe(before.revision);
    expect(after.revision_hash).toBe(before.revision_hash);
  });

  it('stores each manifest exactly, whatever characters it holds, under the hash it was given', async () => {
    const tricky = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'tricky', namespace: 'shop', labels: { a: 'b' } },
      data: {
        escapes: 'tab\there\nnewline\r\\backslash \\N \\. "quoted"',
        unicode: 'grüße, 東京, emoji 🚀, \u2028',
        json: '{"nested": "\\u0041"}',
      },
    };
    const result = await put({ body: [tricky] });
    expect(result.status, result.text).toBe(200);
    const [row] = await gw.db.sql<{ manifest: string; hash: string }[]>`
      select manifest, hash from cluster_resources where cluster_id = ${clusterId} and name = 'tricky'`;
    expect(JSON.parse(row?.manifest ?? '')).toEqual(tricky);
    expect(row?.hash).toBe(sha256(canonicalJson(tricky)));
  });

  it('stores the sets of several clusters in one transaction', async () => {
    const other = (await gw.request('POST', '/api/v1/clusters', { token: operator, body: { name: 'other' } }))
      .body.id as string;
    const parser = new ManifestParser();
    const set = (color: string) =>
      prepareSet(
        parser.parse(
          Buffer.from(
            JSON.stringify([
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: 'shared', namespace: 'shop' },
                data: { color },
              },
            ]),
          ),
          'json',
        ).resources,
        gw.encryptor,
      );
    const stored = await gw.db.sql.begin(async (tx) => {
      const results = [];
      for (const [id, color] of [
        [clusterId, 'cyan'],
        [other, 'magenta'],
      ] as const) {
        const [cluster] = await tx<{ id: string; current_revision: number; resources_hash: string | null }[]>`
          select id, current_revision, resources_hash from clusters where id = ${id} for update`;
        if (!cluster) throw new Error(`no cluster ${id}`);
        results.push(await storeDesiredSet(tx, cluster, set(color)));
      }
      return results;
    });
    expect(stored.map((result) => result.added)).toEqual([1, 1]);
    const rows = await gw.db.sql<{ cluster_id: string; manifest: string }[]>`
      select cluster_id, manifest from cluster_resources where name = 'shared'`;
    expect(
      Object.fromEntries(rows.map((row) => [row.cluster_id, JSON.parse(row.manifest).data.color])),
    ).toEqual({
      [clusterId]: 'cyan',
      [other]: 'magenta',
    });
  });

  it('accepts sets far larger than the 1 MiB API body limit', async () => {
    const big = Array.from({ length: 40 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `big-${i}`, namespace: 'shop' },
      data: { blob: 'y'.repeat(200 * 1024) },
    }));
    const result = await put({ body: big });
    expect(result.status, result.text.slice(0, 300)).toBe(200);
    expect(result.body.added).toBe(40);
  });

  it("keeps the agent's sync state beside the cluster's status, and says no_data for a silent agent", async () => {
    const show = async () =>
      (await gw.request('GET', `/api/v1/clusters/${clusterId}`, { token: viewer })).body;
    expect((await show()).resources_sync_state).toBe('no_data');
    await gw.db.sql`update clusters set status = 'in_sync', resources_sync_state = 'not_configured',
      resources_sync_message = '1 failed', resources_reported_at = now(), resources_report_interval_ms = 60000
      where id = ${clusterId}`;
    // The status is the infrastructure's verdict, as in Commander; the resources have their own.
    expect(await show()).toMatchObject({
      status: 'in_sync',
      resources_sync_state: 'not_configured',
      resources_sync_message: '1 failed',
    });
    await gw.db.sql`update clusters set resources_sync_state = 'configured', resources_sync_message = null
      where id = ${clusterId}`;
    expect(await show()).toMatchObject({ status: 'in_sync', resources_sync_state: 'configured' });
    // Three intervals without a report.
    await gw.db
      .sql`update clusters set resources_reported_at = now() - interval '181 seconds' where id = ${clusterId}`;
    expect(await show()).toMatchObject({ status: 'in_sync', resources_sync_state: 'no_data' });
  });

  it('needs the operator role to change, and hides other workspaces', async () => {
    const denied = await gw.request('PUT', `/api/v1/clusters/${clusterId}/resources`, {
      token: viewer,
      body: [],
    });
    expect(denied.status).toBe(403);
    const stranger = await gw.token('operator', 'beta');
    for (const method of ['GET', 'PUT']) {
      const hidden = await gw.request(method, `/api/v1/clusters/${clusterId}/resources`, {
        token: stranger,
        ...(method === 'PUT' ? { body: [] } : {}),
      });
      expect(hidden.status).toBe(404);
    }
  });
});

function parseJsonSet(text: string): object[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as object)
    .filter(Boolean);
}
