// Many agents sending telemetry, in one process (for telemetry-ingest).
//   node dist/bench/telemetry-load.js <gateway url> <admin token> <count> <concurrency> <period ms>
// 1. Prepares <count> clusters (bench/load-agents.ts); on `connect` (stdin) connects every agent.
// 2. On `start`, every agent sends one `telemetry` message per <period> on its control stream, the
//    agents spread evenly over the period: seq counting up from 1 per agent, a sample valid for
//    shared/wire/control.ts TelemetrySample, its time the send time (never the same twice for one
//    agent). The gateway acknowledges a sample's seq once it is stored; the time from sending to
//    that ack is its latency.
// 3. On `stats`, prints `stats {"sent","acked","unacked","ms","latencies":{"p50","p99","max"}}` for
//    the samples since the previous `stats` (acked: acks received in that time) and starts over.
import type { MuxStream } from '../shared/mux/stream.js';
import { isAck, type TelemetrySample } from '../shared/wire/control.js';
import { MAX_GATEWAY_MESSAGE } from '../shared/wire/limits.js';
import { encodeMessage, MessageDecoder } from '../shared/wire/messages.js';
import { commands, connectAll, prepare } from './load-agents.js';
import { percentile } from './report.js';

const [api, token, countText, concurrencyText, periodText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const count = Number(countText);
const periodMs = Number(periodText);

/** What a small cluster reports: a handful of platform components, all ready. */
const COMPONENTS = [
  'd8-system/Deployment/deckhouse',
  'kube-system/Deployment/coredns',
  'kube-system/DaemonSet/kube-proxy',
  'kube-system/DaemonSet/cilium',
  'kube-system/Deployment/metrics-server',
  'kube-system/StatefulSet/etcd-backup',
].map((name) => ({ name, ready: true }));

let sent = 0;
let acked = 0;
let latencies: number[] = [];
let windowStarted = performance.now();

class TelemetrySender {
  private seq = 0;
  private lastTime = 0;
  /** seq → when it was sent. */
  private readonly pending = new Map<number, number>();

  constructor(private readonly control: MuxStream) {
    const decoder = new MessageDecoder(MAX_GATEWAY_MESSAGE);
    control.pipe(decoder);
    decoder.on('error', (error) => control.destroy(error));
    decoder.on('data', (message: Record<string, unknown>) => {
      if (!isAck(message)) return;
      const now = performance.now();
      // An ack covers every entry up to its seq.
      for (const [seq, at] of this.pending) {
        if (seq > message.seq) continue;
        this.pending.delete(seq);
        acked += 1;
        latencies.push(now - at);
      }
    });
  }

  get unacked(): number {
    return this.pending.size;
  }

  send(): void {
    if (this.control.destroyed) return;
    const time = Math.max(Date.now(), this.lastTime + 1);
    this.lastTime = time;
    const sample: TelemetrySample = {
      time: new Date(time).toISOString(),
      cpus: 16,
      memory_bytes: 64 * 2 ** 30,
      nodes: 4,
      storage_bytes: 500 * 2 ** 30,
      kubernetes_version: 'v1.31.0',
      platform_version: 'v1.62.3',
      components: COMPONENTS,
    };
    this.seq += 1;
    this.pending.set(this.seq, performance.now());
    this.control.write(encodeMessage({ type: 'telemetry', seq: this.seq, sample }));
    sent += 1;
  }
}

const senders: TelemetrySender[] = [];
const planned = await prepare(api, token, count);
const next = commands((line) => {
  if (line !== 'stats') return;
  latencies.sort((a, b) => a - b);
  const stats = {
    sent,
    acked,
    unacked: senders.reduce((sum, sender) => sum + sender.unacked, 0),
    ms: Math.round(performance.now() - windowStarted),
    latencies: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
    },
  };
  process.stdout.write(`stats ${JSON.stringify(stats)}\n`);
  sent = 0;
  acked = 0;
  latencies = [];
  windowStarted = performance.now();
});
await next('connect');
await connectAll(api, planned, Number(concurrencyText), (control) => {
  senders.push(new TelemetrySender(control));
});
await next('start');
senders.forEach((sender, i) => {
  setTimeout(
    () => {
      sender.send();
      setInterval(() => sender.send(), periodMs);
    },
    (i * periodMs) / senders.length,
  );
});
