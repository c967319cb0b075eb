// A reconnect storm: N agents (bench/storm-load.ts, one process speaking the real protocol) on
// two gateway replicas of one database, half on each; one replica is killed (SIGKILL) and its
// agents dial the other, with the agent's own backoff and Retry-After handling. Measures the time
// until every agent is connected again and until the session table says so, the most PostgreSQL
// connections each replica held meanwhile (against its pool), and the surviving gateway's memory
// per agent (VmRSS growth from its start, holding all N; no cluster was created through it).
// BENCH_STORM_AGENTS sets N (default 10,000); goals: all back within 30 s, under 64 KiB per agent.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { Child, log, Resources, rssKiB, sleep, startGateway, startReplica } from './harness.js';
import { wallMs } from './load-agents.js';
import { report } from './report.js';

const BENCH = 'reconnect-storm';
const AGENTS = Number(process.env.BENCH_STORM_AGENTS ?? 10_000);
/** Enrollments in flight (each holds a pool connection; see agents-idle.ts). */
const CONCURRENCY = Number(process.env.BENCH_AGENTS_CONCURRENCY ?? 8);
const POOL_MAX = 10;
const HEARTBEAT_S = 2;

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const replicaEnv = (id: string) => ({
      COMMANDER_REPLICA_ID: id,
      COMMANDER_REPLICA_LISTEN: '127.0.0.1:0',
      COMMANDER_REPLICA_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
      COMMANDER_DB_POOL_MAX: String(POOL_MAX),
    });
    const victim = await startGateway(resources, databaseUrl, replicaEnv('storm-a'));
    const survivor = await startReplica(resources, victim, replicaEnv('storm-b'));
    const rssStart = rssKiB(survivor.child.pid);
    const sql = postgres(victim.env.DATABASE_URL as string, { max: 1, onnotice: () => {} });
    resources.onClose(() => sql.end());

    const load = resources.add(
      new Child(
        'storm-load',
        fileURLToPath(new URL('./storm-load.js', import.meta.url)),
        [victim.url, victim.token, String(AGENTS), String(CONCURRENCY), victim.url, survivor.url],
        {},
        { stdin: true },
      ),
    );
    const prepared = await load.waitForLine(/^prepared (\d+) (\d+)$/, 60_000 + AGENTS * 100);
    log(`${BENCH}: ${prepared[1]} clusters and enrollment tokens created in ${prepared[2]} ms`);
    load.send('connect');
    const done = await load.waitForLine(/^done (\d+) (\d+) (\d+) (\d+)$/, 60_000 + AGENTS * 100);
    log(
      `${BENCH}: ${done[1]} agents connected in ${done[2]} ms (${done[3]} × 503, ${done[4]} other failures)`,
    );
    const spread = await sql<{ replica: string; n: number }[]>`
      select agent_replica as replica, count(*)::int as n from clusters
      where agent_status = 'connected' group by 1 order by 1`;
    log(`${BENCH}: sessions by replica ${spread.map((row) => `${row.replica} ${row.n}`).join(', ')}`);

    // The database connections each gateway holds, sampled through the storm.
    const most = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await sql<{ name: string; n: number }[]>`
          select application_name as name, count(*)::int as n from pg_stat_activity
          where datname = current_database() and application_name like 'commander-%' group by 1`;
        for (const row of rows) most.set(row.name, Math.max(most.get(row.name) ?? 0, row.n));
        await sleep(100);
      }
    })();

    const lost = load.waitForLine(/^lost (\d+)$/, 60_000);
    const allBack = load.waitForLine(/^all (\d+) (\d+) (\d+)$/, 300_000);
    const killedAt = wallMs();
    victim.child.child.kill('SIGKILL');
    await victim.child.exited;
    const firstLoss = Number((await lost)[1]);
    const back = await allBack;
    const allBackMs = Number(back[1]) - killedAt;
    log(
      `${BENCH}: first loss noticed ${Math.round(firstLoss - killedAt)} ms after the kill; all ${AGENTS} back ` +
        `${Math.round(allBackMs)} ms after it (${back[2]} × 503 in all, ${back[3]} other failures)`,
    );
    if (process.env.BENCH_VERBOSE)
      log(`${load.output().slice(-3000)}\n${survivor.child.output().slice(-6000)}`);
    // The session table: every cluster connected, held by the survivor.
    let tableMs = Number.NaN;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await sleep(100)) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from clusters where agent_status = 'connected' and agent_replica = 'storm-b'`;
      if (row?.n === AGENTS) {
        tableMs = wallMs() - killedAt;
        break;
      }
    }
    sampling = false;
    await sampler;
    await sleep(2000);
    const rssAfter = rssKiB(survivor.child.pid);
    log(
      `${BENCH}: session table updated ${Math.round(tableMs)} ms after the kill; survivor RSS ${rssStart} KiB at ` +
        `start, ${rssAfter} KiB holding ${AGENTS}; most connections: ${[...most].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    );
    report({ bench: BENCH, metric: 'agents_back', value: AGENTS, unit: 'agents', baseline: AGENTS });
    report({ bench: BENCH, metric: 'all_back', value: allBackMs / 1000, unit: 's', baseline: 30 });
    report({ bench: BENCH, metric: 'session_table_updated', value: tableMs / 1000, unit: 's', baseline: 30 });
    const mostSurvivor = [...most].filter(([name]) => name.includes('storm-b')).map(([, n]) => n);
    // The pool, plus the one LISTEN connection each gateway holds outside it.
    report({
      bench: BENCH,
      metric: 'db_connections_survivor_max',
      value: Math.max(0, ...mostSurvivor),
      unit: 'connections',
      baseline: POOL_MAX + 1,
    });
    report({
      bench: BENCH,
      metric: 'memory_per_agent',
      value: (rssAfter - rssStart) / AGENTS,
      unit: 'KiB',
      baseline: 64,
    });
  } finally {
    await resources.close();
  }
}
