// The telemetry API: the newest sample, history between two times, oldest first, and retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryWriter } from '../../gateway/telemetry.js';
import { createLogger } from '../../shared/logger.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('telemetry API', () => {
  let gw: TestGateway;
  let viewer: string;
  let clusterId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    viewer = await gw.token('viewer');
    const operator = await gw.token('operator');
    clusterId = (
      await gw.request('POST', '/api/v1/clusters', { token: operator, body: { name: 'measured' } })
    ).body.id;
  });
  afterAll(() => gw.close());

  it('answers 404 before the agent sent anything, then the newest sample and the history', async () => {
    const none = await gw.request('GET', `/api/v1/clusters/${clusterId}/telemetry`, { token: viewer });
    expect(none.status).toBe(404);
    const sample = (minute: number) => ({
      time: `2026-11-27T10:0${minute}:00.000Z`,
      cpus: 4,
      memory_bytes: 2 ** 34,
      nodes: 1,
      storage_bytes: 0,
      kubernetes_version: 'v1.31.0',
      platform_version: '',
      components: [{ name: 'kube-system/Deployment/coredns', ready: minute !== 2 }],
    });
    for (const minute of [3, 1, 2]) {
      const { components, ...row } = sample(minute);
      await gw.db
        .sql`insert into telemetry_samples ${gw.db.sql({ ...row, cluster_id: clusterId, components: gw.db.sql.json(components) })}`;
    }
    await gw.db
      .sql`update clusters set telemetry = ${gw.db.sql.json(sample(3))}, telemetry_at = ${sample(3).time} where id = ${clusterId}`;

    const newest = await gw.request('GET', `/api/v1/clusters/${clusterId}/telemetry`, { token: viewer });
    expect(newest.status, newest.text).toBe(200);
    expect(newest.body).toEqual(sample(3));

    const all = await gw.request('GET', `/api/v1/clusters/${clusterId}/telemetry/history`, { token: viewer });
    expect(all.status, all.text).toBe(200);
    expect(all.body.map((s: { time: string }) => s.time)).toEqual([
      sample(1).time,
      sample(2).time,
      sample(3).time,
    ]);
    expect(all.body[1]).toEqual(sample(2));

    const range = await gw.request(
      'GET',
      `/api/v1/clusters/${clusterId}/telemetry/history?from=${sample(2).time}&to=${sample(3).time}&limit=1`,
      { token: viewer },
    );
    expect(range.body.map((s: { time: string }) => s.time)).toEqual([sample(2).time]);
    const bad = await gw.request('GET', `/api/v1/clusters/${clusterId}/telemetry/history?from=yesterday`, {
      token: viewer,
    });
    expect(bad.status).toBe(400);
  });

  it('deletes samples older than the retention period', async () => {
    const now = Date.now();
    const at = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
    for (const time of [at(31), at(29)]) {
      await gw.db.sql`insert into telemetry_samples ${gw.db.sql({
        cluster_id: clusterId,
        time,
        cpus: 1,
        memory_bytes: 1,
        nodes: 1,
        storage_bytes: 0,
        kubernetes_version: 'v1.31.0',
        platform_version: '',
        components: gw.db.sql.json([]),
      })}`;
    }
    const writer = new TelemetryWriter(gw.db.sql, createLogger('silent', 'test'), 30);
    await writer.start();
    await writer.stop();
    const left = await gw.db.sql<{ time: Date }[]>`select time from telemetry_samples
      where cluster_id = ${clusterId} and time < now() - interval '20 days' order by time`;
    expect(left.map((row) => row.time.toISOString())).toEqual([at(29)]);
  });

  it('hides other workspaces and needs a token', async () => {
    const stranger = await gw.token('viewer', 'beta');
    expect(
      (await gw.request('GET', `/api/v1/clusters/${clusterId}/telemetry/history`, { token: stranger }))
        .status,
    ).toBe(404);
    expect((await gw.request('GET', `/api/v1/clusters/${clusterId}/telemetry`)).status).toBe(401);
  });
});
