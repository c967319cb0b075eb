// Tunnel latency, each against raw loopback TCP to the same echo target in the same run:
// - open: a tunnel as `commander tunnel` opens one for each local connection, a stream of its
//   multiplexed WebSocket (the dial request, the gateway's checks, the agent's dial, the answers);
// - open_ws: a tunnel with a WebSocket of its own (TCP connect, HTTP upgrade, then the same);
// - rtt: 1-byte round trips through an open tunnel.
import type { Duplex } from 'node:stream';
import { openTunnel, TunnelClient } from '../shared/tunnel-client.js';
import { log, Resources, sleep, startAgent, startGateway, startTargets } from './harness.js';
import { percentile, report } from './report.js';
import { pingPong, tcpConnect } from './traffic.js';

const BENCH = 'tunnel-latency';
const OPENS = 2000;
const BLOCK = 200;
const WARM_UP = 3000;
const ROUND_TRIPS = 5000;

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const targets = await startTargets(resources);
    const gateway = await startGateway(resources, databaseUrl);
    const { clusterId } = await startAgent(resources, gateway);
    const target = `127.0.0.1:${targets.echo}`;
    const client = new TunnelClient({ api: gateway.url, token: gateway.token, clusterId });
    resources.onClose(() => client.close());
    const open = () => client.open(target);
    const openWebSocket = () => openTunnel({ api: gateway.url, token: gateway.token, clusterId, target });

    // Open times, one at a time, each closed right after it opened. The kinds take turns in
    // blocks, so a slower or faster phase of a shared machine weighs on all of them alike, while
    // each is measured behind the teardown of its own kind (not of a heavier one).
    const kinds: Array<() => Promise<Duplex>> = [open, openWebSocket, () => tcpConnect(targets.echo)];
    const timeOpens = async (blocks: number, perBlock: number): Promise<KindTimes> => {
      const times: number[][] = kinds.map(() => []);
      for (let block = 0; block < blocks; block++) {
        for (const [k, connect] of kinds.entries()) {
          for (let i = 0; i < perBlock; i++) {
            const started = performance.now();
            const stream = await connect();
            times[k]?.push(performance.now() - started);
            stream.destroy();
          }
        }
      }
      const [tunnel = [], webSocket = [], tcp = []] = times.map((list) => list.sort((a, b) => a - b));
      return { tunnel, webSocket, tcp };
    };
    // A gateway runs for days: the first thousands of opens after a start (code still being
    // compiled, heaps growing) are logged, not reported.
    logKinds('warm-up open', await timeOpens(1, WARM_UP));
    const opens = await timeOpens(OPENS / BLOCK, BLOCK);
    reportKinds('open', opens);

    // 1-byte round trips through a tunnel of each kind, then over one TCP connection, once the
    // gateway has written the audit rows of the thousands of tunnels just closed.
    await sleep(3000);
    const tunnel = await open();
    const ownWebSocket = await openWebSocket();
    const tcp = await tcpConnect(targets.echo);
    tcp.setNoDelay(true);
    for (const stream of [tunnel, ownWebSocket, tcp]) await pingPong(stream, 1000);
    const tunnelRtt = await pingPong(tunnel, ROUND_TRIPS);
    const webSocketRtt = await pingPong(ownWebSocket, ROUND_TRIPS);
    const tcpRtt = await pingPong(tcp, ROUND_TRIPS);
    for (const stream of [tunnel, ownWebSocket, tcp]) stream.destroy();
    reportKinds('rtt', { tunnel: tunnelRtt, webSocket: webSocketRtt, tcp: tcpRtt });
  } finally {
    await resources.close();
  }
}

const figures = (name: string, times: number[]) =>
  `${name} p50 ${percentile(times, 50).toFixed(3)} p99 ${percentile(times, 99).toFixed(3)} max ${times.at(-1)?.toFixed(3)} ms`;

interface KindTimes {
  tunnel: number[];
  webSocket: number[];
  tcp: number[];
}

function logKinds(label: string, times: KindTimes): void {
  log(
    `${BENCH}: ${label} ${figures('tunnel', times.tunnel)}; ${figures('own websocket', times.webSocket)}; ${figures('tcp', times.tcp)}`,
  );
}

/** Logs all three and reports p50/p99 of both tunnel kinds (`<metric>`, `<metric>_ws`) against TCP. */
function reportKinds(metric: string, times: KindTimes): void {
  logKinds(metric, times);
  for (const [name, kind] of [
    [metric, times.tunnel],
    [`${metric}_ws`, times.webSocket],
  ] as const) {
    for (const p of [50, 99]) {
      report({
        bench: BENCH,
        metric: `${name}_p${p}`,
        value: percentile(kind, p),
        unit: 'ms',
        baseline: percentile(times.tcp, p),
      });
    }
  }
}
