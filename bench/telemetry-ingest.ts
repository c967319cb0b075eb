// 1,000 agents each sending one telemetry sample per second to one gateway
// (bench/telemetry-load.ts: real handshake, mux session, control stream; the gateway stores the
// samples in batches and acknowledges each seq once stored). After WARMUP_MS of sending, over a
// WINDOW_MS window:
// - gateway_cpu_core_fraction: the gateway's utime + stime (/proc) over the window ÷ the window;
// - rows_per_s: rows in telemetry_samples (counted in the bench database) at the window's end
//   minus at its start, ÷ the window; baseline = samples sent per second by the load process;
// - acked_per_s and ack_p50/p99: acks the load process received in the window, and the time from
//   sending a sample to its ack.
// Target: it keeps up (rows/s ≈ 1,000) on less than half of one core.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { Child, cpuSeconds, log, Resources, sleep, startGateway } from './harness.js';
import { report } from './report.js';

const BENCH = 'telemetry-ingest';
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const PERIOD_MS = 1000;
const WARMUP_MS = 5000;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20_000);
/** Enrollment handshakes in flight: below the gateway's database pool (see agents-idle.ts). */
const CONCURRENCY = 8;

interface Stats {
  sent: number;
  acked: number;
  unacked: number;
  ms: number;
  latencies: { p50: number; p99: number; max: number };
}

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const gateway = await startGateway(resources, databaseUrl);
    const sql = postgres(gateway.env.DATABASE_URL as string, { max: 1, onnotice: () => {} });
    resources.onClose(() => sql.end());
    const rows = async () =>
      (await sql<{ n: number }[]>`select count(*)::int as n from telemetry_samples`)[0]?.n ?? 0;
    const load = resources.add(
      new Child(
        'telemetry-load',
        fileURLToPath(new URL('./telemetry-load.js', import.meta.url)),
        [gateway.url, gateway.token, String(AGENTS), String(CONCURRENCY), String(PERIOD_MS)],
        {},
        { stdin: true },
      ),
    );
    await load.waitForLine(/^prepared /, 120_000);
    load.send('connect');
    const done = await load.waitForLine(/^(done|stalled) (\d+) (\d+) (\d+) (\d+)$/, 180_000);
    if (done[1] !== 'done' || Number(done[2]) !== AGENTS)
      throw new Error(`not every agent connected: ${done[0]}`);
    log(
      `${BENCH}: ${AGENTS} agents connected in ${done[3]} ms; sending for ${WARMUP_MS} ms before measuring`,
    );
    await sleep(1000);

    const stats = async () => {
      load.send('stats');
      return JSON.parse((await load.waitForLine(/^stats (.*)$/))[1] as string) as Stats;
    };
    load.send('start');
    await sleep(WARMUP_MS);
    await stats();
    const rowsBefore = await rows();
    const cpuBefore = cpuSeconds(gateway.child.pid);
    const started = performance.now();
    const windowStart = new Date();
    await sleep(WINDOW_MS);
    const window = await stats();
    const cpu = cpuSeconds(gateway.child.pid) - cpuBefore;
    const rowsAfter = await rows();
    const seconds = (performance.now() - started) / 1000;
    const windowEnd = new Date();
    await sleep(1000);
    const [bySampleTime] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_samples
      where time >= ${windowStart} and time < ${windowEnd}`;

    const rowsPerSecond = (rowsAfter - rowsBefore) / seconds;
    const sentPerSecond = window.sent / (window.ms / 1000);
    log(
      `${BENCH}: over ${seconds.toFixed(1)} s: ${window.sent} samples sent, ${window.acked} acked ` +
        `(${window.unacked} unacknowledged at the end), ${rowsAfter - rowsBefore} rows stored ` +
        `(${bySampleTime?.n} with a sample time in the window, counted 1 s later); ack latency max ` +
        `${window.latencies.max.toFixed(1)} ms; gateway CPU ${cpu.toFixed(2)} s`,
    );
    report({ bench: BENCH, metric: 'agents', value: AGENTS, unit: 'agents' });
    report({ bench: BENCH, metric: 'gateway_cpu_core_fraction', value: cpu / seconds, unit: 'cores' });
    report({
      bench: BENCH,
      metric: 'rows_per_s',
      value: rowsPerSecond,
      unit: 'rows/s',
      baseline: sentPerSecond,
    });
    report({
      bench: BENCH,
      metric: 'acked_per_s',
      value: window.acked / (window.ms / 1000),
      unit: 'samples/s',
    });
    report({ bench: BENCH, metric: 'ack_p50', value: window.latencies.p50, unit: 'ms' });
    report({ bench: BENCH, metric: 'ack_p99', value: window.latencies.p99, unit: 'ms' });
  } finally {
    await resources.close();
  }
}
