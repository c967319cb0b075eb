// 1,000 idle agents on one gateway: the gateway's memory per connected agent and its CPU while
// they idle (utime + stime over 10 s, % of one core, against the same gateway idling with no
// agents). Memory is VmRSS growth from the gateway's start to after the agents connected: an upper
// bound, since it also counts what creating the 1,000 clusters and tokens left in the heap.
// Measured from after that setup instead, it was noise at this size (-0.2 to 7 KiB).
// The agents come from bench/agent-load.ts, a separate process speaking the real protocol
// (handshake, enrollment, mux session, control stream, heartbeats).
import { api, cpuPercent, log, Resources, rssKiB, sleep, startAgentLoad, startGateway } from './harness.js';
import { report } from './report.js';

const BENCH = 'agents-idle';
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
/**
 * Enrollment handshakes in flight from the load process. Kept below the gateway's database pool
 * (COMMANDER_DB_POOL_MAX, default 10): with that many enrollments at once the gateway's pool
 * deadlocks (each enrollment transaction holds a connection and waits for another one to load the
 * token's verification key), so more would only measure a wedged gateway.
 */
const CONCURRENCY = Number(process.env.BENCH_AGENTS_CONCURRENCY ?? 8);
const CPU_WINDOW_MS = 10_000;

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const gateway = await startGateway(resources, databaseUrl);
    const pid = gateway.child.pid;
    const rssStart = rssKiB(pid);
    const load = startAgentLoad(resources, gateway, AGENTS, CONCURRENCY);
    const prepared = await load.waitForLine(/^prepared (\d+) (\d+)$/, 120_000);
    log(`${BENCH}: ${prepared[1]} clusters and enrollment tokens created in ${prepared[2]} ms`);
    await sleep(2000);
    const idleCpu = await cpuPercent(pid, 4000);
    const rssBefore = rssKiB(pid);

    load.send('connect');
    const done = await load.waitForLine(/^(done|stalled) (\d+) (\d+) (\d+) (\d+)$/, 180_000);
    const [connected, connectMs, refused, failed] = done.slice(2).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    if (done[1] === 'stalled') {
      report({
        bench: BENCH,
        metric: 'agents_connected',
        value: connected,
        unit: 'agents',
        baseline: AGENTS,
      });
      throw new Error(
        `connecting stalled at ${connected} of ${AGENTS} agents (no progress for 20 s); gateway /readyz: ` +
          `${await fetch(`${gateway.url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
            (r) => r.status,
            (e: Error) => e.message,
          )}`,
      );
    }
    log(
      `${BENCH}: ${connected} agents connected in ${connectMs} ms (${refused} × 503, ${failed} other failures)`,
    );
    await sleep(3000);
    const rssSettled = rssKiB(pid);
    const cpu = await cpuPercent(pid, CPU_WINDOW_MS);
    const rssAfter = rssKiB(pid);

    const clusters = await api<Array<{ name: string; agent_status: string }>>(
      gateway,
      'GET',
      '/api/v1/clusters',
    );
    const shown = clusters.filter((c) => c.name.startsWith('load-') && c.agent_status === 'connected').length;
    log(
      `${BENCH}: gateway RSS ${rssStart} KiB at start, ${rssBefore} KiB with the clusters created, ${rssSettled} KiB 3 s after connecting, ${rssAfter} KiB after the CPU window; ` +
        `API shows ${shown} of ${connected} connected`,
    );
    if (shown !== connected)
      log(`${BENCH}: WARNING the API shows ${shown} connected agents, the load process ${connected}`);

    report({ bench: BENCH, metric: 'agents_connected', value: shown, unit: 'agents', baseline: AGENTS });
    report({ bench: BENCH, metric: 'connect_all', value: connectMs / 1000, unit: 's' });
    report({
      bench: BENCH,
      metric: 'memory_per_agent',
      value: (rssAfter - rssStart) / Math.max(1, connected),
      unit: 'KiB',
    });
    report({
      bench: BENCH,
      metric: 'gateway_rss',
      value: rssAfter / 1024,
      unit: 'MiB',
      baseline: rssStart / 1024,
    });
    report({
      bench: BENCH,
      metric: 'gateway_cpu_idle',
      value: cpu,
      unit: '% of one core',
      baseline: idleCpu,
    });
  } finally {
    await resources.close();
  }
}
