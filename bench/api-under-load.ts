// /healthz latency of a gateway holding 1,000 idle agents while a 30 MiB PUT …/resources is in
// flight, against the same gateway and agents without a PUT (baseline). Each run is a fresh
// setup: a new database, a `commander gateway` process and an agent-load process
// (bench/agent-load.ts, the real protocol); RUNS runs, one after the other.
// In each run: a small PUT starts the gateway's manifest parser thread (a gateway that has been
// up a while has it), then /healthz is probed every PROBE_GAP_MS for BASELINE_MS, then the
// 30 MiB YAML set is PUT, PUTS times one after the other (each to a cluster of its own, so each
// stores the whole set), with /healthz probed until each PUT's answer arrives. healthz_p99 is
// the p99 of all probes of all runs; the worst run's p99 and the gateway's own largest
// event-loop delay (prom-client's nodejs_eventloop_lag_max_seconds, reset by each scrape of
// /metrics) come beside it. Goal: healthz_p99 under 50 ms.
import { Agent, request as httpRequest } from 'node:http';
import { largeYamlSet } from './desired-sets.js';
import {
  api,
  createCluster,
  gatewayMetric,
  log,
  Resources,
  sleep,
  startAgentLoad,
  startGateway,
} from './harness.js';
import { percentile, report } from './report.js';

const BENCH = 'api-under-load';
const RUNS = Number(process.env.BENCH_API_LOAD_RUNS ?? 3);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
/** Kept below the gateway's database pool; see agents-idle.ts. */
const CONCURRENCY = 8;
const BODY_MIB = 30;
const PUTS = Number(process.env.BENCH_API_LOAD_PUTS ?? 3);
const BASELINE_MS = 10_000;
/** Pause between one probe's answer and the next probe: ~200 probes/s that barely load the gateway. */
const PROBE_GAP_MS = 5;
const PUT_TIMEOUT_MS = 180_000;

interface Window {
  latencies: number[];
  eventLoopMaxMs: number;
}

interface Run {
  idle: Window;
  loaded: Window;
  putMs: number[];
}

export async function run(databaseUrl: string): Promise<void> {
  const set = largeYamlSet('bench', BODY_MIB);
  const body = Buffer.from(set.yaml);
  log(`${BENCH}: ${(body.length / 1024 / 1024).toFixed(1)} MiB of YAML, ${set.resources} resources`);
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const last = await oneRun(databaseUrl, body, set.resources);
    runs.push(last);
    log(
      `${BENCH}: run ${i + 1}/${RUNS}: healthz p99 ${p99(last.loaded.latencies).toFixed(1)} ms during the PUTs ` +
        `(${last.loaded.latencies.length} probes, PUTs ${last.putMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s, ` +
        `event loop max ${last.loaded.eventLoopMaxMs.toFixed(0)} ms), ${p99(last.idle.latencies).toFixed(1)} ms ` +
        `without (${last.idle.latencies.length} probes, event loop max ${last.idle.eventLoopMaxMs.toFixed(0)} ms)`,
    );
  }
  const all = (window: 'idle' | 'loaded') => runs.flatMap((r) => r[window].latencies);
  const median = (values: number[]) =>
    percentile(
      [...values].sort((a, b) => a - b),
      50,
    );
  const worst = (values: number[]) => Math.max(...values);
  report({
    bench: BENCH,
    metric: 'healthz_p99',
    value: p99(all('loaded')),
    unit: 'ms',
    baseline: p99(all('idle')),
  });
  report({
    bench: BENCH,
    metric: 'healthz_p99_worst_run',
    value: worst(runs.map((r) => p99(r.loaded.latencies))),
    unit: 'ms',
    baseline: worst(runs.map((r) => p99(r.idle.latencies))),
  });
  report({
    bench: BENCH,
    metric: 'healthz_p50',
    value: percentile(
      [...all('loaded')].sort((a, b) => a - b),
      50,
    ),
    unit: 'ms',
    baseline: percentile(
      [...all('idle')].sort((a, b) => a - b),
      50,
    ),
  });
  report({
    bench: BENCH,
    metric: 'event_loop_delay_max',
    value: median(runs.map((r) => r.loaded.eventLoopMaxMs)),
    unit: 'ms',
    baseline: median(runs.map((r) => r.idle.eventLoopMaxMs)),
  });
  report({
    bench: BENCH,
    metric: 'put_30mib',
    value: median(runs.flatMap((r) => r.putMs)) / 1000,
    unit: 's',
  });
  report({ bench: BENCH, metric: 'probes_during_puts', value: all('loaded').length, unit: 'requests' });
  report({ bench: BENCH, metric: 'runs', value: RUNS, unit: 'fresh gateways' });
}

function p99(latencies: number[]): number {
  return percentile(
    [...latencies].sort((a, b) => a - b),
    99,
  );
}

async function oneRun(databaseUrl: string, body: Buffer, resourceCount: number): Promise<Run> {
  const resources = new Resources();
  try {
    const gateway = await startGateway(resources, databaseUrl);
    const load = startAgentLoad(resources, gateway, AGENTS, CONCURRENCY);
    await load.waitForLine(/^prepared (\d+) (\d+)$/, 180_000);
    load.send('connect');
    const done = await load.waitForLine(/^(done|stalled) (\d+) (\d+) (\d+) (\d+)$/, 300_000);
    if (done[1] !== 'done' || Number(done[2]) !== AGENTS) {
      throw new Error(`${BENCH}: ${done[2]} of ${AGENTS} agents connected (${done[0]})`);
    }
    const warmup = await createCluster(gateway, `warm-up-${Date.now()}`);
    await api(gateway, 'PUT', `/api/v1/clusters/${warmup}/resources`, [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'warm-up', namespace: 'bench' } },
    ]);
    await sleep(2000);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await eventLoopMaxMs(gateway);
      const stop = performance.now() + BASELINE_MS;
      const idle = {
        latencies: await probe(gateway.url, agent, () => performance.now() > stop),
        eventLoopMaxMs: await eventLoopMaxMs(gateway),
      };
      const loaded: Window = { latencies: [], eventLoopMaxMs: 0 };
      const putMs: number[] = [];
      for (let i = 0; i < PUTS; i++) {
        const clusterId = await createCluster(gateway, `under-load-${i}-${Date.now()}`);
        await eventLoopMaxMs(gateway);
        let answered = false;
        const started = performance.now();
        const put = putYaml(gateway, clusterId, body).finally(() => {
          answered = true;
        });
        loaded.latencies.push(...(await probe(gateway.url, agent, () => answered)));
        putMs.push(performance.now() - started);
        loaded.eventLoopMaxMs = Math.max(loaded.eventLoopMaxMs, await eventLoopMaxMs(gateway));
        const stored = await put;
        if (stored.status !== 200 || stored.added !== resourceCount) {
          throw new Error(`${BENCH}: the PUT answered ${stored.status} ${stored.text.slice(0, 300)}`);
        }
      }
      return { idle, loaded, putMs };
    } finally {
      agent.destroy();
    }
  } finally {
    await resources.close();
  }
}

/** /healthz one request at a time, PROBE_GAP_MS apart, until `done`; each request's latency in ms. */
async function probe(url: string, agent: Agent, done: () => boolean): Promise<number[]> {
  const latencies: number[] = [];
  while (!done()) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`/healthz: ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end();
    });
    latencies.push(performance.now() - started);
    await sleep(PROBE_GAP_MS);
  }
  return latencies;
}

async function putYaml(
  gateway: { url: string; token: string },
  clusterId: string,
  body: Buffer,
): Promise<{ status: number; added: number; text: string }> {
  const response = await fetch(`${gateway.url}/api/v1/clusters/${clusterId}/resources`, {
    method: 'PUT',
    headers: { 'x-auth-token': gateway.token, 'content-type': 'application/yaml' },
    body,
    signal: AbortSignal.timeout(PUT_TIMEOUT_MS),
  });
  const text = await response.text();
  const added = response.ok ? (JSON.parse(text) as { added: number }).added : 0;
  return { status: response.status, added, text };
}

/** The gateway's largest event-loop delay since the previous scrape, in ms. */
async function eventLoopMaxMs(gateway: { url: string; token: string }): Promise<number> {
  return (await gatewayMetric(gateway, 'nodejs_eventloop_lag_max_seconds')) * 1000;
}
