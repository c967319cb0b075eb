// docs/inventory.md's walkthrough, run as written against `commander up` (test/support/walkthrough.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  docBlocks,
  startWalkthrough,
  type Walkthrough,
  walkthroughRunnable,
} from '../support/walkthrough.js';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

describe.skipIf(!walkthroughRunnable && !process.env.CI)('docs/inventory.md, run as written', () => {
  let walkthrough: Walkthrough;

  beforeAll(async () => {
    walkthrough = await startWalkthrough('commander-inventory-doc-');
  }, 120_000);
  afterAll(() => walkthrough?.stop());

  it('makes a registry, a catalog and a record, a cluster that takes it, and frees it on delete', async () => {
    const blocks = docBlocks('inventory.md', 'Walkthrough');
    expect(blocks).toHaveLength(3);
    const run = await walkthrough.run(blocks);
    expect(run.status, run.trace).toBe(0);
    const [inventory, cluster, deleted] = run.outputs as [string, string, string];

    const [registryLine, recordLine, refusedLine] = inventory.trim().split('\n') as [string, string, string];
    const registry = JSON.parse(registryLine);
    expect(registry).toMatchObject({
      name: 'Deckhouse EE',
      images_repo: 'registry.deckhouse.io/deckhouse/ee',
      scheme: 'https',
      auth_set: true,
    });
    expect(registry).not.toHaveProperty('auth');
    expect(registryLine).not.toContain(Buffer.from('licence:s3cret').toString('base64'));
    const record = JSON.parse(recordLine);
    expect(record).toMatchObject({
      cluster_id: null,
      schema_matches: true,
      values: { hostname: 'node-1', ip: '192.0.2.21', sshUser: 'ubuntu' },
    });
    expect(refusedLine).toMatch(
      /"code":"INVALID_VALUES".*"path":"body\/values\/ip","message":"must be a string".*\}422$/,
    );

    const [clusterLine, boundLine, takenLine] = cluster.trim().split('\n') as [string, string, string];
    const made = JSON.parse(clusterLine);
    expect(made.registry_id).toBe(registry.id);
    expect(made.values.master).toEqual({ ...record.values, 'x-commander-record-id': record.id });
    expect(made.connection_hosts).toEqual({ masters: [{ host: '192.0.2.21', user: 'ubuntu', port: 22 }] });
    expect(made.render_errors).toEqual([]);
    expect(made.desired_resources_rendered).toContain('hostname: node-1');
    expect(made.desired_resources_rendered).toContain(`record: ${record.id}`);
    expect(JSON.parse(boundLine)).toMatchObject({ id: record.id, cluster_id: made.id });
    expect(takenLine).toMatch(
      new RegExp(
        `"code":"CONFLICT".*"path":"body/values/master".*${record.id}.*bound to another cluster.*\\}409$`,
      ),
    );

    const [requests, deleting, status, freedLine, secondLine] = deleted.trim().split('\n') as string[];
    expect(JSON.parse(requests as string)).toEqual([]);
    expect(deleting).toBe('"status":"delete"');
    expect(status).toBe('"status":"deleted"');
    expect(JSON.parse(freedLine as string)).toMatchObject({ id: record.id, cluster_id: null });
    const second = JSON.parse(secondLine as string);
    expect(second).toMatchObject({
      name: 'metal 2',
      values: { master: { 'x-commander-record-id': record.id } },
    });
    expect(second.id).toMatch(new RegExp(`^${UUID}$`));
    expect(second.id).not.toBe(made.id);

    // Every new entity is audited with its own type, the token named as an AuthToken.
    const audit = walkthrough
      .upOutput()
      .split('\n')
      .filter((line) => line.includes('[audit]'))
      .map((line) => JSON.parse(line.slice(line.indexOf('{'))));
    for (const type of ['Registry', 'Catalog', 'Record', 'ClusterTemplate', 'Cluster']) {
      expect(
        audit.find((entry) => entry.auditable_type === type && entry.action === 'create'),
        type,
      ).toMatchObject({
        user_type: 'AuthToken',
        workspace_slug: 'default',
      });
    }
    // The delete task freed the record, as the manager's doing.
    expect(
      audit.find((entry) => entry.auditable_type === 'Record' && entry.user_type === 'System'),
    ).toMatchObject({
      auditable_id: record.id,
      action: 'update',
      workspace_slug: 'default',
      audited_changes: { cluster_id: [made.id, null] },
    });
  }, 180_000);
});
