// Telemetry from agents into the database: a sample the columns cannot hold is refused at the
// edge (acknowledged, never stored), and never holds back another cluster's samples.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectRawAgent, type RawAgent } from '../support/raw-agent.js';

const goodSample = (time: string) => ({
  time,
  cpus: 7.8,
  memory_bytes: 2 ** 34,
  nodes: 3,
  storage_bytes: 10 ** 12,
  kubernetes_version: 'v1.31.0',
  platform_version: 'v1.62.3',
  components: [{ name: 'kube-system/Deployment/coredns', ready: true }],
});

/** Samples that are numbers and strings as the old check wanted, but that no column can hold. */
const beyondColumns: Array<[string, (time: string) => Record<string, unknown>]> = [
  ['memory 2^70', (time) => ({ ...goodSample(time), memory_bytes: 2 ** 70 })],
  ['nodes 2^40', (time) => ({ ...goodSample(time), nodes: 2 ** 40 })],
  ['storage 2^64', (time) => ({ ...goodSample(time), storage_bytes: 2 ** 64 })],
  ['NUL in a version', (time) => ({ ...goodSample(time), kubernetes_version: 'v1\u0000' })],
  ['NUL in a component', (time) => ({ ...goodSample(time), components: [{ name: 'a\u0000', ready: true }] })],
  ['a lone surrogate', (time) => ({ ...goodSample(time), platform_version: '\ud800' })],
  ['a time PostgreSQL cannot read', () => ({ ...goodSample('1'), time: '1' })],
];

/** Samples the old check refused by closing the session (the agent then replayed them forever). */
const malformed: Array<[string, (time: string) => Record<string, unknown>]> = [
  ['cpus 1e308', (time) => ({ ...goodSample(time), cpus: 1e308 })],
  ['negative memory', (time) => ({ ...goodSample(time), memory_bytes: -1 })],
  ['a NaN-like string', (time) => ({ ...goodSample(time), cpus: 'NaN' })],
  ['fractional nodes', (time) => ({ ...goodSample(time), nodes: 1.5 })],
  ['a long version', (time) => ({ ...goodSample(time), kubernetes_version: 'v'.repeat(10_000) })],
  [
    'a huge component list',
    (time) => ({
      ...goodSample(time),
      components: Array.from({ length: 5_000 }, (_, i) => ({ name: `ns/Deployment/c${i}`, ready: true })),
    }),
  ],
  ['no components', (time) => ({ ...goodSample(time), components: undefined })],
  ['a sample that is a string', () => 'sample' as unknown as Record<string, unknown>],
];

describe('telemetry ingest', () => {
  let gw: TestGateway;
  let clusterA: string;
  let clusterB: string;
  let agentA: RawAgent;
  let agentB: RawAgent;
  let seqA = 0;
  let seqB = 0;
  let minute = 0;
  /** A new sample time each call: samples are stored once per (cluster, time). */
  const nextTime = () => new Date(Date.UTC(2026, 10, 27, 10, 0, 0) + ++minute * 60_000).toISOString();

  const createCluster = async (workspace: string) => {
    const operator = await gw.token('operator', workspace);
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: `telemetry-${workspace}` },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    const issued = await gw.request('POST', `/api/v1/clusters/${id}/agent_tokens`, {
      token: operator,
      body: {},
    });
    expect(issued.status, issued.text).toBe(201);
    return { id, token: issued.body.token as string };
  };
  const stored = async (clusterId: string) =>
    (
      await gw.db.sql<
        { time: Date }[]
      >`select time from telemetry_samples where cluster_id = ${clusterId} order by time`
    ).map((row) => row.time.toISOString());
  const acked = (agent: RawAgent, seq: number) =>
    agent.waitFor((message) => message.type === 'ack' && message.seq === seq, 10_000);

  beforeAll(async () => {
    gw = await startTestGateway();
    const a = await createCluster('alpha');
    const b = await createCluster('beta');
    clusterA = a.id;
    clusterB = b.id;
    agentA = await connectRawAgent(gw.url, clusterA, { enrollmentToken: a.token });
    agentB = await connectRawAgent(gw.url, clusterB, { enrollmentToken: b.token });
  });

  afterAll(async () => {
    agentA?.close();
    agentB?.close();
    await gw?.close();
  });

  it("stores and acknowledges every other cluster's samples when one cluster's cannot be stored", async () => {
    const sentB: Array<{ seq: number; time: string }> = [];
    const sentA: number[] = [];
    // Interleaved in one turn, so they share the writer's batches.
    for (const [, make] of beyondColumns) {
      agentA.send({ type: 'telemetry', seq: ++seqA, sample: make(nextTime()) });
      sentA.push(seqA);
      const time = nextTime();
      agentB.send({ type: 'telemetry', seq: ++seqB, sample: goodSample(time) });
      sentB.push({ seq: seqB, time });
    }
    for (const { seq } of sentB) await acked(agentB, seq);
    expect(await stored(clusterB)).toEqual(sentB.map((s) => s.time));
    const [row] = await gw.db.sql<{ telemetry: Record<string, unknown> }[]>`
      select telemetry from clusters where id = ${clusterB}`;
    expect(row?.telemetry).toEqual(goodSample(sentB.at(-1)?.time as string));

    // A's samples are acknowledged too (they could never be stored: the agent must not replay
    // them forever), and none of them is in the database.
    for (const seq of sentA) await acked(agentA, seq);
    expect(await stored(clusterA)).toEqual([]);
  });

  it('refuses a malformed sample at the edge: acknowledged, unstored, the session carries on', async () => {
    for (const [what, make] of malformed) {
      const seq = ++seqA;
      agentA.send({ type: 'telemetry', seq, sample: make(nextTime()) });
      const ack = await acked(agentA, seq).catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`);
      });
      expect(ack, what).toEqual({ type: 'ack', seq });
    }
    expect(await stored(clusterA)).toEqual([]);
    // Still connected: a good sample is stored.
    const time = nextTime();
    const seq = ++seqA;
    agentA.send({ type: 'telemetry', seq, sample: goodSample(time) });
    await acked(agentA, seq);
    expect(await stored(clusterA)).toEqual([time]);
    const [row] = await gw.db.sql<
      { agent_status: string }[]
    >`select agent_status from clusters where id = ${clusterA}`;
    expect(row?.agent_status).toBe('connected');
  });

  it('stops reading an agent that sends faster than the database stores, and stores it all later', async () => {
    // Table locked: every sample waits for the database.
    const locker = await gw.db.sql.reserve();
    await locker`begin`;
    await locker`lock table telemetry_samples in access exclusive mode`;
    const sent: number[] = [];
    let unsent = 0;
    try {
      for (let i = 0; i < 10_000; i += 1) {
        const seq = ++seqB;
        const sample = { ...goodSample(nextTime()), platform_version: 'x'.repeat(200) };
        agentB.send({ type: 'telemetry', seq, sample });
        sent.push(seq);
      }
      const written = agentB.control.writableLength;
      expect(written).toBeGreaterThan(4 * 1024 * 1024);
      // Each ping is answered after everything that arrived before it, window updates included;
      // a gateway that kept reading would have taken a window's worth more each time.
      for (let i = 0; i < 100; i += 1) await agentB.session.ping();
      unsent = agentB.control.writableLength;
    } finally {
      await locker`rollback`;
      locker.release();
    }
    // The gateway took on a bounded backlog and then stopped returning credit: the rest waited
    // in the agent, held back by the control stream's window.
    expect(unsent).toBeGreaterThan(3 * 1024 * 1024);
    for (const seq of sent) await acked(agentB, seq);
    const [count] = await gw.db.sql<{ n: number }[]>`
      select count(*)::int as n from telemetry_samples where cluster_id = ${clusterB}`;
    expect(count?.n).toBe(10_000 + beyondColumns.length);
  }, 60_000);
});
