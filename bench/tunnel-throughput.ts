// Tunnel throughput through the whole path, with fresh processes per run: a local TCP client →
// `commander tunnel` → gateway → agent → a target in its own process, against `ssh -L` through a
// real sshd to the same target. MB = 10^6 bytes.
// A process lifetime can be slow or fast for its whole life, so a median of rounds inside one
// lifetime hides half the story: every run starts a new gateway (fresh database), agent,
// `commander tunnel` and `ssh -L` (the sshd and the target stay), warms both paths up, then
// alternates them ROUNDS times; the run's figure is the median of its rounds. Runs go over plain
// ws:// and over wss:// (the gateway's own TLS), in alternating order: `ssh -L` encrypts too, so
// wss:// is the fair pair. Every run's ratio is reported, then the worst and the median.
// Each run also measures the ceiling of a three-process path on the machine: three plain Node
// relays in a row (bench/relay.ts, TLS on the middle two legs for wss://), started fresh with the
// same flags. They only copy bytes, so their ratio to `ssh -L` is what the machine allows a tunnel
// through three Node processes. The gateway's full (Mark-Compact) collections are counted per run
// as well (gateway_full_gcs_*): one or two is normal, dozens made whole lifetimes slow.
//   one_stream:          client → target on one connection
//   one_stream_download: target → client on one connection
// BENCH_TUNNEL_RUNS runs per transport (default 10), BENCH_TUNNEL_ROUNDS rounds per run (default
// 3), BENCH_TUNNEL_MIB MiB per round (default 512), BENCH_TUNNEL_WARMUP_MIB MiB of warm-up each
// way per path (default 1024: less measures a cold tunnel), BENCH_TUNNEL_TRANSPORTS which of
// ws,wss to run (default both).
import {
  gatewayMetric,
  log,
  Resources,
  selfSignedCertificate,
  startAgent,
  startGateway,
  startRelayChain,
  startTargets,
  startTunnelCli,
} from './harness.js';
import { report } from './report.js';
import { type Sshd, sshCipher, startSshd, startSshForward } from './sshd.js';
import { pullThroughput, pushThroughput } from './traffic.js';

const BENCH = 'tunnel-throughput';
const MIB = 1024 * 1024;

interface Ports {
  sink: number;
  source: number;
}

const SCENARIOS: Array<{ metric: string; measure: (ports: Ports, bytes: number) => Promise<number> }> = [
  { metric: 'one_stream', measure: (ports, bytes) => pushThroughput(ports.sink, 1, bytes) },
  { metric: 'one_stream_download', measure: (ports, bytes) => pullThroughput(ports.source, 1, bytes) },
];

const TRANSPORTS = ['ws', 'wss'] as const;
type Transport = (typeof TRANSPORTS)[number];

/** What a run measures on each path, per scenario: the median of its rounds, MB/s. */
interface RunFigures {
  tunnel: number;
  ssh: number;
  relays: number;
}

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** The tunnel's figures carry the plain key (`one_stream_ws`), the relays' a `_relays` suffix. */
function figureName(key: string, path: 'tunnel' | 'relays'): string {
  return path === 'tunnel' ? key : `${key}_relays`;
}

function transportsSetting(): Transport[] {
  const raw = process.env.BENCH_TUNNEL_TRANSPORTS;
  if (raw === undefined || raw === '') return [...TRANSPORTS];
  const chosen = raw.split(',');
  const unknown = chosen.filter((name) => !(TRANSPORTS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`BENCH_TUNNEL_TRANSPORTS must list ws and/or wss, got "${raw}"`);
  return TRANSPORTS.filter((name) => chosen.includes(name));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle)
    ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
    : (sorted[Math.floor(middle)] as number);
}

export async function run(databaseUrl: string): Promise<void> {
  const runs = Math.round(setting('BENCH_TUNNEL_RUNS', 10));
  const rounds = Math.round(setting('BENCH_TUNNEL_ROUNDS', 3));
  const bytes = Math.round(setting('BENCH_TUNNEL_MIB', 512) * MIB);
  const warmUp = Math.round(setting('BENCH_TUNNEL_WARMUP_MIB', 1024) * MIB);
  const transports = transportsSetting();
  const shared = new Resources();
  try {
    const targets = await startTargets(shared);
    const sshd = await startSshd(shared);
    const certificate = selfSignedCertificate(shared.tempDir('commander-bench-tls-'));
    log(`${BENCH}: ssh cipher ${sshCipher(sshd)}; ${runs} runs × ${rounds} rounds of ${bytes / MIB} MiB`);
    /** [transport][metric] → per run: each path's median. */
    const results: Record<string, RunFigures[]> = {};
    /** [transport] → per run: the gateway's full (Mark-Compact) collections. */
    const collections: Record<string, number[]> = {};
    for (let index = 0; index < runs; index++) {
      const order = index % 2 === 0 ? transports : [...transports].reverse();
      for (const transport of order) {
        const { measured, fullCollections } = await oneRun(
          databaseUrl,
          targets,
          sshd,
          transport === 'wss' ? certificate : undefined,
          {
            rounds,
            bytes,
            warmUp,
            label: `run ${index + 1} ${transport}`,
          },
        );
        collections[transport] = [...(collections[transport] ?? []), fullCollections];
        report({
          bench: BENCH,
          metric: `gateway_full_gcs_${transport}_run_${index + 1}`,
          value: fullCollections,
          unit: 'collections',
        });
        for (const [metric, figures] of Object.entries(measured)) {
          const key = `${metric}_${transport}`;
          results[key] = [...(results[key] ?? []), figures];
          for (const path of ['tunnel', 'relays'] as const) {
            report({
              bench: BENCH,
              metric: `${figureName(key, path)}_run_${index + 1}`,
              value: figures[path],
              unit: 'MB/s',
              baseline: figures.ssh,
            });
          }
        }
      }
    }
    for (const [transport, counts] of Object.entries(collections)) {
      report({
        bench: BENCH,
        metric: `gateway_full_gcs_${transport}_median`,
        value: median(counts),
        unit: 'collections',
      });
      report({
        bench: BENCH,
        metric: `gateway_full_gcs_${transport}_most`,
        value: Math.max(...counts),
        unit: 'collections',
      });
    }
    for (const [key, runFigures] of Object.entries(results)) {
      for (const path of ['tunnel', 'relays'] as const) {
        const name = figureName(key, path);
        const ratios = runFigures.map((figures) => figures[path] / figures.ssh);
        log(`${BENCH}: ${name} ratios ${ratios.map((ratio) => ratio.toFixed(2)).join(', ')}`);
        report({ bench: BENCH, metric: `${name}_worst_ratio`, value: Math.min(...ratios), unit: 'x ssh -L' });
        report({ bench: BENCH, metric: `${name}_median_ratio`, value: median(ratios), unit: 'x ssh -L' });
        report({
          bench: BENCH,
          metric: `${name}_median`,
          value: median(runFigures.map((figures) => figures[path])),
          unit: 'MB/s',
          baseline: median(runFigures.map((figures) => figures.ssh)),
        });
      }
      const ofCeiling = runFigures.map((figures) => figures.tunnel / figures.relays);
      report({ bench: BENCH, metric: `${key}_median_of_relays`, value: median(ofCeiling), unit: 'x relays' });
    }
  } finally {
    await shared.close();
  }
}

/**
 * One run: fresh processes, a warm-up of every path, then `rounds` alternating rounds. Also
 * counts the gateway's full collections over its life (its /metrics): dozens of them made
 * whole lifetimes slow, and shared/node-flags.ts keeps them away.
 */
async function oneRun(
  databaseUrl: string,
  targets: Ports,
  sshd: Sshd,
  tls: { certFile: string; keyFile: string } | undefined,
  options: { rounds: number; bytes: number; warmUp: number; label: string },
): Promise<{ measured: Record<string, RunFigures>; fullCollections: number }> {
  const resources = new Resources();
  try {
    const gateway = await startGateway(resources, databaseUrl, {}, tls);
    const { clusterId } = await startAgent(resources, gateway);
    const tunnel: Ports = {
      sink: (await startTunnelCli(resources, gateway, clusterId, `127.0.0.1:${targets.sink}`)).port,
      source: (await startTunnelCli(resources, gateway, clusterId, `127.0.0.1:${targets.source}`)).port,
    };
    const ssh: Ports = {
      sink: await startSshForward(resources, sshd, targets.sink),
      source: await startSshForward(resources, sshd, targets.source),
    };
    const relays: Ports = {
      sink: await startRelayChain(resources, targets.sink, tls),
      source: await startRelayChain(resources, targets.source, tls),
    };
    const paths = { tunnel, ssh, relays };
    for (const ports of Object.values(paths)) {
      await pushThroughput(ports.sink, 1, options.warmUp);
      await pullThroughput(ports.source, 1, options.warmUp);
    }
    const measured: Record<string, RunFigures> = {};
    for (const { metric, measure } of SCENARIOS) {
      const values: Record<keyof typeof paths, number[]> = { tunnel: [], ssh: [], relays: [] };
      for (let round = 0; round < options.rounds; round++) {
        for (const [name, ports] of Object.entries(paths) as Array<[keyof typeof paths, Ports]>) {
          const value = await measure(ports, options.bytes);
          values[name].push(value);
          log(`${BENCH}: ${options.label} ${metric} round ${round + 1} ${name} ${value.toFixed(1)} MB/s`);
        }
      }
      measured[metric] = {
        tunnel: median(values.tunnel),
        ssh: median(values.ssh),
        relays: median(values.relays),
      };
    }
    const fullCollections = await gatewayMetric(gateway, 'nodejs_gc_duration_seconds_count', 'kind="major"');
    return { measured, fullCollections };
  } finally {
    await resources.close();
  }
}
