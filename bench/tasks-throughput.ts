// Task queue throughput and claim latency with 1, 2 and 4 real manager processes on one
// database: tasks per second (baseline: 1 replica), and creation-to-start latency. Two kinds of
// task: pure no-ops (the queue's own ceiling: on 2 cores one replica and PostgreSQL already use
// the machine, so more replicas cannot add speed), and tasks that wait 20 ms as real tasks wait
// on SSH and the network (what replicas are for: that figure should scale with them).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { keysEnvironment } from '../shared/config.js';
import { generateKeys } from '../shared/crypto.js';
import { migrate } from '../shared/db/migrate.js';
import { ensureWorkspace } from '../shared/workspaces.js';
import { percentile, report } from './report.js';

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const TASKS = 600;
const WAITING_TASKS = 400;
const WAIT_MS = 20;
const CLUSTERS = 100;
const LATENCY_SAMPLES = 200;

function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function measure(baseUrl: string, replicas: number) {
  const name = `bench_tasks_${randomBytes(4).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = databaseUrl(baseUrl, name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  await migrate(sql);
  const ws = await ensureWorkspace(sql, 'bench');
  const clusters = await sql`insert into clusters (workspace_id, name)
    select ${ws.id}, 'c' || n from generate_series(1, ${CLUSTERS}) n returning id`;
  const keys = keysEnvironment(generateKeys());
  const children = Array.from({ length: replicas }, (_, i) =>
    spawn(process.execPath, [CLI, 'manager'], {
      env: {
        ...process.env,
        ...keys,
        DATABASE_URL: url,
        LOG_LEVEL: 'warn',
        COMMANDER_REPLICA_ID: `bench-${i}`,
      },
      stdio: 'ignore',
    }),
  );
  try {
    // Wait until every replica listens (each holds a LISTEN connection).
    for (;;) {
      const [row] = await sql`select count(*)::int as n from pg_stat_activity
        where datname = ${name} and query ilike 'listen%'`;
      if ((row?.n ?? 0) >= replicas) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Claim latency: tasks created one by one on idle replicas.
    for (let i = 0; i < LATENCY_SAMPLES; i += 1) {
      await sql`insert into tasks (cluster_id, kind) values (${clusters[i % CLUSTERS]?.id}, 'noop')`;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitAllDone(sql, LATENCY_SAMPLES);
    const latencies = (
      await sql<{ ms: number }[]>`select extract(epoch from started_at - created_at) * 1000 as ms from tasks`
    )
      .map((row) => Number(row.ms))
      .sort((a, b) => a - b);
    await sql`delete from tasks`;
    // Throughput: a backlog of tasks over many clusters, drained by all replicas.
    const started = performance.now();
    await sql`insert into tasks (cluster_id, kind)
      select c.id, 'noop' from clusters c, generate_series(1, ${TASKS / CLUSTERS})`;
    await waitAllDone(sql, TASKS);
    const seconds = (performance.now() - started) / 1000;
    await sql`delete from tasks`;
    const waitingStarted = performance.now();
    await sql`insert into tasks (cluster_id, kind, params)
      select c.id, 'noop', ${sql.json({ sleep_ms: WAIT_MS })} from clusters c, generate_series(1, ${WAITING_TASKS / CLUSTERS})`;
    await waitAllDone(sql, WAITING_TASKS);
    const waitingSeconds = (performance.now() - waitingStarted) / 1000;
    return {
      perSecond: TASKS / seconds,
      waitingPerSecond: WAITING_TASKS / waitingSeconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    await sql.end();
    await admin.unsafe(`drop database ${name} with (force)`);
    await admin.end();
  }
}

async function waitAllDone(sql: postgres.Sql, count: number): Promise<void> {
  for (;;) {
    const [row] = await sql`select count(*)::int as n from tasks where status = 'succeeded'`;
    if ((row?.n ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function run(databaseUrl: string): Promise<void> {
  const results = new Map<number, Awaited<ReturnType<typeof measure>>>();
  for (const replicas of [1, 2, 4]) {
    process.stderr.write(`tasks-throughput: ${replicas} replica(s)\n`);
    results.set(replicas, await measure(databaseUrl, replicas));
  }
  const one = results.get(1) as Awaited<ReturnType<typeof measure>>;
  for (const [replicas, result] of results) {
    const figure = (metric: string, value: number, unit: string, baseline?: number) =>
      report({
        bench: 'tasks-throughput',
        metric: `${metric}_${replicas}_replicas`,
        value,
        unit,
        ...(replicas > 1 && baseline !== undefined ? { baseline } : {}),
      });
    figure('tasks_per_second', result.perSecond, 'tasks/s', one.perSecond);
    figure('waiting_tasks_per_second', result.waitingPerSecond, 'tasks/s', one.waitingPerSecond);
    figure('claim_latency_p50', result.p50, 'ms');
    figure('claim_latency_p99', result.p99, 'ms');
  }
}
