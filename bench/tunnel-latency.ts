// Tunnel latency: how long openTunnel() takes to resolve (HTTP upgrade + authorization + a mux
// stream + the agent's dial + its answer), and 1-byte round trips through an open tunnel to an
// echo target, each against raw loopback TCP to the same target in the same run.
import type { Duplex } from 'node:stream';
import { openTunnel } from '../shared/tunnel-client.js';
import { log, Resources, startAgent, startGateway, startTargets } from './harness.js';
import { percentile, report } from './report.js';
import { pingPong, tcpConnect } from './traffic.js';

const BENCH = 'tunnel-latency';
const OPENS = 2000;
const ROUND_TRIPS = 5000;

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const targets = await startTargets(resources);
    const gateway = await startGateway(resources, databaseUrl);
    const { clusterId } = await startAgent(resources, gateway);
    const target = `127.0.0.1:${targets.echo}`;
    const open = () => openTunnel({ api: gateway.url, token: gateway.token, clusterId, target });

    // Stream open time, one at a time; each tunnel is closed right after it opened.
    const timeOpens = async (count: number, connect: () => Promise<Duplex>) => {
      const times: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        const stream = await connect();
        times.push(performance.now() - started);
        stream.destroy();
      }
      return times.sort((a, b) => a - b);
    };
    await timeOpens(50, open);
    await timeOpens(50, () => tcpConnect(targets.echo));
    const tunnelOpens = await timeOpens(OPENS, open);
    const tcpOpens = await timeOpens(OPENS, () => tcpConnect(targets.echo));
    log(
      `${BENCH}: open tunnel p50 ${percentile(tunnelOpens, 50).toFixed(3)} p99 ${percentile(tunnelOpens, 99).toFixed(3)} max ${tunnelOpens.at(-1)?.toFixed(3)} ms; ` +
        `tcp p50 ${percentile(tcpOpens, 50).toFixed(3)} p99 ${percentile(tcpOpens, 99).toFixed(3)} ms`,
    );
    for (const p of [50, 99]) {
      report({
        bench: BENCH,
        metric: `open_p${p}`,
        value: percentile(tunnelOpens, p),
        unit: 'ms',
        baseline: percentile(tcpOpens, p),
      });
    }

    // 1-byte round trips through one open tunnel, then over one TCP connection.
    const tunnel = await open();
    const tcp = await tcpConnect(targets.echo);
    tcp.setNoDelay(true);
    await pingPong(tunnel, 500);
    await pingPong(tcp, 500);
    const tunnelRtt = await pingPong(tunnel, ROUND_TRIPS);
    const tcpRtt = await pingPong(tcp, ROUND_TRIPS);
    tunnel.destroy();
    tcp.destroy();
    log(
      `${BENCH}: rtt tunnel p50 ${percentile(tunnelRtt, 50).toFixed(3)} p99 ${percentile(tunnelRtt, 99).toFixed(3)} max ${tunnelRtt.at(-1)?.toFixed(3)} ms; ` +
        `tcp p50 ${percentile(tcpRtt, 50).toFixed(3)} p99 ${percentile(tcpRtt, 99).toFixed(3)} ms`,
    );
    for (const p of [50, 99]) {
      report({
        bench: BENCH,
        metric: `rtt_p${p}`,
        value: percentile(tunnelRtt, p),
        unit: 'ms',
        baseline: percentile(tcpRtt, p),
      });
    }
  } finally {
    await resources.close();
  }
}
