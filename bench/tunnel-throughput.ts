// Tunnel throughput through the whole path: a local TCP client → `commander tunnel` → gateway →
// agent → a target in its own process, against `ssh -L` through a real sshd and raw loopback TCP
// to the same target, all in the same run. MB = 10^6 bytes.
//   one_stream:          1 GiB client → target on one connection
//   16_streams:          16 connections × 128 MiB at once
//   one_stream_download: 1 GiB target → client on one connection
// The machine is shared and noisy, so every figure is the median of up to ROUNDS rounds that
// alternate the three paths (raw, ssh, tunnel), each round moving half the bytes; every round is
// logged on stderr. Fewer rounds run when the time budget is spent. On 2 cores the tunnel's five
// busy processes (client, tunnel, gateway, agent, target) contend for the CPU, and some rounds
// cost a process up to twice the CPU per byte in the same code (measured from /proc; the CPU
// profile has the same shape, with more time in the kernel's loopback writes), hence five rounds.
// BENCH_TUNNEL_MIB scales the measured sizes (default 1024: 1 GiB on one stream, 1/8 of that on each
// of 16); the warm-up stays 1 GiB each way per path, since a smaller one measures a cold tunnel.
import { log, Resources, startAgent, startGateway, startTargets, startTunnelCli } from './harness.js';
import { report } from './report.js';
import { sshCipher, startSshd, startSshForward } from './sshd.js';
import { pullThroughput, pushThroughput } from './traffic.js';

const BENCH = 'tunnel-throughput';
const MIB = 1024 * 1024;
const ROUNDS = 5;
const WARM_UP = 1024 * MIB;
/**
 * Time for all measuring, shared equally by the scenarios: a scenario starts another round only
 * within its share, so a slow (or busy) machine gets fewer rounds instead of a bench of many minutes.
 */
const BUDGET_MS = 60_000;

interface Ports {
  sink: number;
  source: number;
}

export async function run(databaseUrl: string): Promise<void> {
  const total = Number(process.env.BENCH_TUNNEL_MIB ?? 1024) * MIB;
  const resources = new Resources();
  try {
    const targets = await startTargets(resources);
    const gateway = await startGateway(resources, databaseUrl);
    const { clusterId } = await startAgent(resources, gateway);
    const tunnel: Ports = {
      sink: (await startTunnelCli(resources, gateway, clusterId, `127.0.0.1:${targets.sink}`)).port,
      source: (await startTunnelCli(resources, gateway, clusterId, `127.0.0.1:${targets.source}`)).port,
    };
    const sshd = await startSshd(resources);
    log(`${BENCH}: ssh cipher ${sshCipher(sshd)}`);
    const ssh: Ports = {
      sink: await startSshForward(resources, sshd, targets.sink),
      source: await startSshForward(resources, sshd, targets.source),
    };
    const raw: Ports = { sink: targets.sink, source: targets.source };
    const paths = { raw, ssh, tunnel };

    // Warm up every path (JIT, socket buffers, mux windows, heap sizes) before measuring: the
    // processes are long-lived, so their steady state is what counts. Every process on the path
    // (even the target) spends more CPU per byte in the first GiB or so, in the kernel as much as
    // in Node, so the first measured round after a short warm-up was the tunnel's slowest.
    for (const ports of Object.values(paths)) {
      await pushThroughput(ports.sink, 1, WARM_UP);
      await pullThroughput(ports.source, 1, WARM_UP);
    }

    const scenarios: Array<{
      metric: string;
      measure: (ports: Ports) => Promise<number>;
    }> = [
      { metric: 'one_stream', measure: (ports) => pushThroughput(ports.sink, 1, total / 2) },
      { metric: '16_streams', measure: (ports) => pushThroughput(ports.sink, 16, total / 8 / 2) },
      { metric: 'one_stream_download', measure: (ports) => pullThroughput(ports.source, 1, total / 2) },
    ];
    const measuring = performance.now();
    for (const [index, { metric, measure }] of scenarios.entries()) {
      const rounds: Record<string, number[]> = {};
      const deadline = measuring + ((index + 1) * BUDGET_MS) / scenarios.length;
      for (let round = 0; round < ROUNDS && (round === 0 || performance.now() < deadline); round++) {
        for (const [name, ports] of Object.entries(paths)) {
          const value = await measure(ports);
          rounds[name] = [...(rounds[name] ?? []), value];
          log(`${BENCH}: ${metric} round ${round + 1} ${name} ${value.toFixed(1)} MB/s`);
        }
      }
      const median = (values: number[] = []) => {
        const sorted = [...values].sort((a, b) => a - b);
        const middle = sorted.length / 2;
        return Number.isInteger(middle)
          ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
          : (sorted[Math.floor(middle)] as number);
      };
      const value = median(rounds.tunnel);
      report({ bench: BENCH, metric, value, unit: 'MB/s', baseline: median(rounds.ssh) });
      report({
        bench: BENCH,
        metric: `${metric}_vs_raw_tcp`,
        value,
        unit: 'MB/s',
        baseline: median(rounds.raw),
      });
    }
  } finally {
    await resources.close();
  }
}
