// Head-of-line blocking: one tunnel stream saturated by a bulk client (its own process, pushing
// into a sink as fast as it can) while a second, interactive tunnel stream to the same agent does
// 1-byte round trips with an echo target. Baseline: the same round trips with no bulk load.
// The agent is bench/probe-agent.ts (the real agent code plus a mux ping to the gateway every
// 20 ms), which gives the session's own ping round trip under load too.
import { fileURLToPath } from 'node:url';
import { openTunnel } from '../shared/tunnel-client.js';
import { Child, log, Resources, sleep, startAgent, startGateway, startTargets } from './harness.js';
import { percentile, report } from './report.js';
import { MB, pingPong } from './traffic.js';

const BENCH = 'tunnel-hol';
/** Round trips run back to back for this long in each phase (and the probe pings meanwhile). */
const IDLE_MS = 5000;
const LOAD_MS = 8000;

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const targets = await startTargets(resources);
    const gateway = await startGateway(resources, databaseUrl);
    const { clusterId, child: agent } = await startAgent(resources, gateway, {
      script: fileURLToPath(new URL('./probe-agent.js', import.meta.url)),
      name: 'probe-agent',
    });
    const pings: Array<{ at: number; rtt: number }> = [];
    agent.onLine((line) => {
      const match = /^rtt ([\d.]+)$/.exec(line);
      if (match) pings.push({ at: performance.now(), rtt: Number(match[1]) });
    });
    const pingsBetween = (from: number, to: number) =>
      pings
        .filter((ping) => ping.at >= from && ping.at <= to)
        .map((ping) => ping.rtt)
        .sort((a, b) => a - b);

    const interactive = await openTunnel({
      api: gateway.url,
      token: gateway.token,
      clusterId,
      target: `127.0.0.1:${targets.echo}`,
    });
    await pingPong(interactive, 300);

    const idleFrom = performance.now();
    const idle = await pingPong(interactive, Number.MAX_SAFE_INTEGER, IDLE_MS);
    const idlePings = pingsBetween(idleFrom, performance.now());

    // Bulk load through the tunnel (same agent session), then the same load over raw TCP to the
    // same sink: the second shares only the CPU with the interactive stream, not the session.
    const underLoad = async (label: string, args: string[]) => {
      const pusher = resources.add(
        new Child(`pusher (${label})`, fileURLToPath(new URL('./pusher.js', import.meta.url)), args, {}),
      );
      const progress: Array<{ bytes: number; ms: number }> = [];
      pusher.onLine((line) => {
        const match = /^pushed (\d+) ([\d.]+)$/.exec(line);
        if (match) progress.push({ bytes: Number(match[1]), ms: Number(match[2]) });
      });
      await pusher.waitForLine(/^pushing$/);
      await sleep(1000);
      const from = performance.now();
      const progressFrom = progress.length;
      const rtts = await pingPong(interactive, Number.MAX_SAFE_INTEGER, LOAD_MS);
      const muxPings = pingsBetween(from, performance.now());
      await sleep(600);
      const first = progress[progressFrom - 1] ?? progress[0];
      const last = progress.at(-1);
      const bulk =
        first && last && last.ms > first.ms
          ? (last.bytes - first.bytes) / MB / ((last.ms - first.ms) / 1000)
          : 0;
      await pusher.stop();
      return { rtts, muxPings, bulk };
    };
    const loaded = await underLoad('tunnel', [
      gateway.url,
      gateway.token,
      clusterId,
      `127.0.0.1:${targets.sink}`,
    ]);
    const cpuOnly = await underLoad('raw tcp', ['tcp', String(targets.sink)]);
    interactive.destroy();

    const describe = (times: number[]) =>
      `n=${times.length} p50 ${percentile(times, 50).toFixed(3)} p99 ${percentile(times, 99).toFixed(3)} max ${times.at(-1)?.toFixed(3)} ms`;
    log(`${BENCH}: interactive idle ${describe(idle)}`);
    log(`${BENCH}: interactive, bulk in the tunnel ${describe(loaded.rtts)}`);
    log(`${BENCH}: interactive, bulk over raw TCP ${describe(cpuOnly.rtts)}`);
    log(`${BENCH}: mux ping idle ${describe(idlePings)}`);
    log(`${BENCH}: mux ping, bulk in the tunnel ${describe(loaded.muxPings)}`);
    log(`${BENCH}: mux ping, bulk over raw TCP ${describe(cpuOnly.muxPings)}`);
    log(
      `${BENCH}: bulk ${loaded.bulk.toFixed(1)} MB/s in the tunnel, ${cpuOnly.bulk.toFixed(1)} MB/s over raw TCP`,
    );
    for (const p of [50, 99]) {
      report({
        bench: BENCH,
        metric: `interactive_rtt_p${p}`,
        value: percentile(loaded.rtts, p),
        unit: 'ms',
        baseline: percentile(idle, p),
      });
    }
    for (const p of [50, 99]) {
      report({
        bench: BENCH,
        metric: `mux_ping_rtt_p${p}`,
        value: percentile(loaded.muxPings, p),
        unit: 'ms',
        baseline: percentile(idlePings, p),
      });
    }
    // The same interactive stream while the CPU is as busy but the session is not shared.
    for (const p of [50, 99]) {
      report({
        bench: BENCH,
        metric: `interactive_rtt_p${p}_vs_cpu_load_only`,
        value: percentile(loaded.rtts, p),
        unit: 'ms',
        baseline: percentile(cpuOnly.rtts, p),
      });
    }
    report({ bench: BENCH, metric: 'bulk_stream_during_test', value: loaded.bulk, unit: 'MB/s' });
  } finally {
    await resources.close();
  }
}
