// The control plane rides through its PostgreSQL going away and coming back: a restart on the
// same port, then a failover to another server behind the same address (a relay that moves, as
// a DNS name or a load balancer does). Under API load, agent traffic (telemetry, reports) and
// running tasks: /readyz and the API answer 503 while it is gone (never 500, never a hang),
// everything recovers within 10 s of its return, no task is lost or runs twice, what the agent
// sent meanwhile is stored, LISTEN works again (and what it missed is caught up), and no process
// falls over.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeAgent } from '../../shared/agent-revocation.js';
import { connect, type Sql } from '../../shared/db/connect.js';
import { createToken } from '../../shared/tokens.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import type { TestDatabase } from '../support/db.js';
import { type KubeApi, startKubeApi } from '../support/kube-api.js';
import { createPostgresServer, type PostgresServer, waitUntilAccepting } from '../support/postgres-server.js';
import type { RunningCommand } from '../support/process.js';
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay.js';
import { type AgentInstance, AgentStack, eventually, rawTunnelUpgrade, waitForLog } from './agent-stack.js';
import { api, sleep } from './helpers.js';

/** The Done-when of the issue: everything is back within this long after the database is. */
const RECOVERY_MS = 10_000;
/** No API answer may take longer than this, database or not. */
const ANSWER_BOUND_MS = 15_000;

interface Answer {
  at: number;
  path: string;
  status: number;
  code?: string;
  ms: number;
  error?: string;
}

interface OutboxLine {
  seq: number;
  type: 'report' | 'telemetry';
  body: { sample?: { time: string } };
}

describe('PostgreSQL restart and failover under load', () => {
  let dir: { path: string; remove(): void };
  let primary: PostgresServer;
  let standby: PostgresServer | undefined;
  let relay: TcpRelay;
  let sql: Sql;
  let stack: AgentStack;
  let kube: KubeApi;
  let managers: RunningCommand[];
  let agent: AgentInstance;
  let clusterId: string;
  /** An agent whose key is revoked while no gateway can hear of it (during the failover). */
  let revokedAgent: AgentInstance;
  let revokedCluster: string;
  let workspaceId: string;
  const answers: Answer[] = [];
  let loading = true;
  let load: Promise<void>;
  /** Every outbox entry the agent ever wrote, by seq (the file may be compacted meanwhile). */
  const written = new Map<number, OutboxLine>();
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    stack = new AgentStack();
    dir = stack.dir;
    primary = await createPostgresServer(join(dir.path, 'pg'));
    await primary.start();
    // Every process and the test reach the database through one address that never changes.
    relay = await startTcpRelay(primary.port);
    const url = `postgres://postgres@127.0.0.1:${relay.port}/postgres`;
    sql = connect(url, { max: 3, applicationName: 'db-failover-test' });
    stack.db = {
      name: 'postgres',
      url,
      sql,
      async drop() {
        await sql.end({ timeout: 1 });
      },
    } satisfies TestDatabase;
    await stack.startGateway();
    ({ id: workspaceId } = await ensureWorkspace(sql, 'ops'));
    stack.operator = (await createToken(sql, workspaceId, 'operator', 'operator')).token;
    managers = [];
    for (const replica of ['m1', 'm2']) {
      const manager = stack.processes.start(['manager'], { ...stack.env, COMMANDER_REPLICA_ID: replica });
      await manager.waitFor(/"msg":"manager ready"/, 30_000);
      managers.push(manager);
    }

    kube = await startKubeApi();
    kube.addNode('node-0', { cpu: '4', memory: '16Gi' });
    clusterId = await stack.createCluster([]);
    agent = await stack.startAgent(clusterId, {
      allow: [],
      args: [
        '--kubeconfig',
        kube.writeKubeconfig(dir.path),
        '--sync-interval',
        '1',
        '--telemetry-interval',
        '1',
      ],
    });
    revokedCluster = await stack.createCluster([]);
    revokedAgent = await stack.startAgent(revokedCluster, { allow: [] });
    const desired = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } },
      ...[0, 1, 2].map((i) => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, namespace: 'app' },
        data: { i: String(i) },
      })),
    ];
    const put = await api(stack.gateway.url, 'PUT', `/api/v1/clusters/${clusterId}/resources`, {
      token: stack.operator,
      body: desired,
    });
    expect(put.status, put.text).toBe(200);
    await eventually('resources applied', () =>
      kube.get('v1', 'ConfigMap', 'app', 'cm-2') ? true : undefined,
    );

    // API load: two loops of requests that need the database, each answer recorded.
    const loop = async (path: string) => {
      while (loading) {
        const at = Date.now();
        try {
          const response = await fetch(`${stack.gateway.url}${path}`, {
            headers: { 'x-auth-token': stack.operator },
            signal: AbortSignal.timeout(ANSWER_BOUND_MS),
          });
          const text = await response.text();
          let code: string | undefined;
          try {
            code = JSON.parse(text)?.error?.code;
          } catch {
            // not JSON: the status says enough
          }
          answers.push({ at, path, status: response.status, code, ms: Date.now() - at });
        } catch (error) {
          answers.push({ at, path, status: 0, ms: Date.now() - at, error: String(error) });
        }
        await sleep(10);
      }
    };
    load = Promise.all([
      loop(`/api/v1/clusters/${clusterId}`),
      loop(`/api/v1/tasks?cluster_id=${clusterId}`),
    ]).then(() => {});
  }, 120_000);

  afterAll(async () => {
    loading = false;
    await load;
    await stack?.processes.stopAll(5_000);
    await sql?.end({ timeout: 1 });
    await relay?.close();
    await kube?.close();
    await primary?.remove();
    await standby?.remove();
    dir?.remove();
    process.stdout.write(`db-failover measured: ${JSON.stringify(measured)}\n`);
  });

  const readOutbox = () => {
    const text = readFileSync(join(agent.stateDir, 'outbox.jsonl'), 'utf8');
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as OutboxLine;
        written.set(entry.seq, entry);
      } catch {
        // a line being written
      }
    }
    return written;
  };
  const acked = () =>
    new Set(
      readFileSync(join(agent.stateDir, 'outbox-acks'), 'utf8').split('\n').filter(Boolean).map(Number),
    );
  /** Fails with the output of any of our processes that exited. */
  const expectAlive = () => {
    for (const command of [stack.gateway.command, ...managers, agent.command]) {
      if (command.child.exitCode !== null || command.child.signalCode !== null) {
        throw new Error(
          `a process exited (${command.child.exitCode ?? command.child.signalCode}):\n` +
            `${command.stdout().slice(-3000)}\n${command.stderr().slice(-3000)}`,
        );
      }
    }
  };
  const readyz = async () => {
    expectAlive();
    const response = await fetch(`${stack.gateway.url}/readyz`, {
      signal: AbortSignal.timeout(ANSWER_BOUND_MS),
    });
    return { status: response.status, body: (await response.json()) as { error?: { code?: string } } };
  };

  /** Noop tasks on clusters of their own, each taking a while: some run when the database goes. */
  const queueTasks = async (count: number) => {
    const clusters = await sql`insert into clusters (workspace_id, name)
      select ${workspaceId}, 'task-' || gen_random_uuid() from generate_series(1, ${count}) returning id`;
    const rows = await sql`insert into tasks (cluster_id, kind, params)
      select id, 'noop', ${sql.json({ sleep_ms: 1500 })} from clusters where id in ${sql(clusters.map((c) => c.id))}
      returning id`;
    return rows.map((row) => row.id as string);
  };

  /**
   * Takes the database away while tasks run, checks what must hold while it is gone, brings it
   * back with `bringBack` (which resolves with a URL of the server that now answers), and checks
   * the recovery.
   */
  const outage = async (name: string, stop: () => Promise<void>, bringBack: () => Promise<string>) => {
    const tasks = await queueTasks(8);
    await eventually(
      'a task running',
      async () => {
        const [row] = await sql`select count(*)::int as n from tasks
          where id in ${sql(tasks)} and status = 'running' and log like '%noop start%'`;
        return (row?.n ?? 0) > 0 ? true : undefined;
      },
      15_000,
      20,
    );
    const seqBefore = Math.max(0, ...readOutbox().keys());
    // Never used yet, so no gateway has it cached: checking it needs the database.
    const { token: unseen } = await createToken(sql, workspaceId, `unseen-${name}`, 'operator');
    const stoppedAt = Date.now();
    await stop();

    // While it is gone: not ready, the API answers 503 UNAVAILABLE.
    const notReady = await eventually(
      'readyz 503',
      async () => {
        const answer = await readyz();
        return answer.status === 503 ? answer : undefined;
      },
      10_000,
      20,
    );
    expect(notReady.body.error?.code).toBe('NOT_READY');
    await eventually('an API 503', () =>
      answers.some((a) => a.at > stoppedAt && a.status === 503 && a.code === 'UNAVAILABLE')
        ? true
        : undefined,
    );
    // A tunnel too is refused with 503 UNAVAILABLE, not 500.
    expect(await rawTunnelUpgrade(stack.gateway.url, unseen, clusterId, '127.0.0.1:1')).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
    });
    // The agent goes on: drift is repaired and reported, telemetry sampled, all into its outbox.
    expect(kube.remove('v1', 'ConfigMap', 'app', 'cm-1')).toBe(true);
    await eventually('drift repaired', () => (kube.get('v1', 'ConfigMap', 'app', 'cm-1') ? true : undefined));
    await eventually(
      'a report and telemetry written during the outage',
      () => {
        const during = [...readOutbox().values()].filter((entry) => entry.seq > seqBefore);
        return during.some((entry) => entry.type === 'report') &&
          during.filter((entry) => entry.type === 'telemetry').length >= 2
          ? true
          : undefined;
      },
      15_000,
    );
    const duringSeqs = [...readOutbox().keys()].filter((seq) => seq > seqBefore);
    const unackedDuring = duringSeqs.filter((seq) => !acked().has(seq));
    // Nothing the gateway could not store was acknowledged.
    expect(unackedDuring.length).toBeGreaterThan(0);

    const directUrl = await bringBack();
    await waitUntilAccepting(directUrl);
    const returnedAt = Date.now();

    // Everything is back within RECOVERY_MS of the database's return.
    await eventually(
      'readyz 200',
      async () => ((await readyz()).status === 200 ? true : undefined),
      RECOVERY_MS - (Date.now() - returnedAt),
      20,
    );
    measured[`${name}_ready_ms`] = Date.now() - returnedAt;
    await eventually(
      'an API 200',
      () => (answers.some((a) => a.at > returnedAt && a.status === 200) ? true : undefined),
      RECOVERY_MS - (Date.now() - returnedAt),
      20,
    );
    measured[`${name}_api_ms`] = Date.now() - returnedAt;
    await eventually(
      'the outage’s outbox entries acknowledged',
      () => (duringSeqs.every((seq) => acked().has(seq)) ? true : undefined),
      RECOVERY_MS - (Date.now() - returnedAt),
      50,
    );
    measured[`${name}_outbox_ms`] = Date.now() - returnedAt;
    await eventually(
      'a task finished after the return',
      async () => {
        const [row] = await sql`select count(*)::int as n from tasks
          where id in ${sql(tasks)} and status = 'succeeded' and finished_at > ${new Date(returnedAt)}`;
        return (row?.n ?? 0) > 0 ? true : undefined;
      },
      RECOVERY_MS - (Date.now() - returnedAt),
      50,
    );
    measured[`${name}_task_ms`] = Date.now() - returnedAt;

    // Every task finished exactly once: one run each, started once and finished once.
    const finished = await eventually(
      'every task finished',
      async () => {
        const rows = await sql<{ status: string; attempts: number; log: string }[]>`
          select status, attempts, log from tasks where id in ${sql(tasks)}`;
        return rows.every((row) => row.status === 'succeeded') ? rows : undefined;
      },
      60_000,
      100,
    );
    for (const row of finished) {
      expect(row.attempts).toBe(1);
      expect(row.log.match(/noop start/g)).toHaveLength(1);
      expect(row.log.match(/noop finish/g)).toHaveLength(1);
    }

    // What the agent sent during the outage is stored: every telemetry sample, and the reports
    // (the cluster's stored sequence number reached them).
    const entries = duringSeqs.map((seq) => written.get(seq) as OutboxLine);
    const times = entries.filter((e) => e.type === 'telemetry').map((e) => e.body.sample?.time as string);
    const [{ stored } = { stored: 0 }] = await sql<{ stored: number }[]>`
      select count(*)::int as stored from telemetry_samples
      where cluster_id = ${clusterId} and time = any(${times}::timestamptz[])`;
    expect(stored).toBe(times.length);
    const lastReport = Math.max(...entries.filter((e) => e.type === 'report').map((e) => e.seq));
    const [cluster] = await sql`select agent_seq::int as seq from clusters where id = ${clusterId}`;
    expect(cluster?.seq).toBeGreaterThanOrEqual(lastReport);

    // LISTEN works again: a token revoked straight in the database after the return is refused at
    // once, well before the cache's time limit would forget it.
    const { token, row: probeRow } = await createToken(sql, workspaceId, `probe-${name}`, 'viewer');
    const probe = () => api(stack.gateway.url, 'GET', '/api/v1/clusters', { token });
    expect((await probe()).status).toBe(200);
    await sql`update api_tokens set revoked_at = now() where id = ${probeRow.id}`;
    await eventually(
      'the revocation seen',
      async () => ((await probe()).status === 401 ? true : undefined),
      5_000,
    );
  };

  it('rides through a restart on the same port', async () => {
    await outage(
      'restart',
      () => primary.stop(),
      async () => {
        await primary.start();
        return primary.url();
      },
    );
  }, 180_000);

  it('rides through a failover to another server behind the same address', async () => {
    await outage(
      'failover',
      () => primary.stop(),
      async () => {
        // The new primary holds the same data (as a promoted replica does) at another address.
        standby = await primary.copy();
        await standby.start();
        // Revoked on the new primary before any gateway reaches it: its notification is lost.
        const direct = connect(standby.url(), { max: 1 });
        expect(await revokeAgent(direct, revokedCluster)).toBe(true);
        await direct.end();
        relay.switchTo(standby.port);
        return standby.url();
      },
    );
    // The gateway looked for keys revoked while it was not listening, and closed that session.
    await waitForLog(revokedAgent.command, 'the gateway revoked this agent; enroll it again', {
      timeoutMs: RECOVERY_MS,
    });
  }, 180_000);

  it('answered every request with 200 or 503 UNAVAILABLE, in bounded time, and no process fell over', async () => {
    loading = false;
    await load;
    expect(answers.length).toBeGreaterThan(0);
    const unexpected = answers.filter(
      (a) => !(a.status === 200 || (a.status === 503 && a.code === 'UNAVAILABLE')),
    );
    expect(unexpected).toEqual([]);
    measured.requests = answers.length;
    measured.unavailable = answers.filter((a) => a.status === 503).length;
    measured.slowest_answer_ms = Math.max(...answers.map((a) => a.ms));
    expectAlive();
    expect(stack.gateway.command.stdout()).not.toMatch(/"level":(50|60).*(uncaught|unhandled)/i);
    await waitForLog(agent.command, 'connected to the gateway');
  });
});
