// The part every load process shares (agent-load, sync-load, telemetry-load): many agents in one
// process, each speaking the real protocol to one gateway.
// - prepare(): <count> clusters and one enrollment token each through the API, a fresh Ed25519
//   key per agent; prints `prepared <n> <ms>`.
// - connectAll(): connects every agent, at most <concurrency> handshakes at a time: WebSocket to
//   /agent_api/<id>, challenge → hello (its key, signature, enrollment token) → welcome, then a
//   client mux session with the control stream, a status message and a heartbeat every 10 s, as
//   the real agent does; `onControl` gets the control stream for whatever else the agent does. A
//   503 (load shedding) is retried after its Retry-After, capped at MAX_RETRY_WAIT_MS so a bench
//   stays short. Prints `connected <n>` every 100, `stalled …` when nothing connects for 20 s, and
//   `done <connected> <ms> <refused_503> <other_failures>`.
import { generateKeyPairSync } from 'node:crypto';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { type AgentKeyPair, signChallenge } from '../shared/identity.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { sessionOverWebSocket } from '../shared/mux/transports.js';
import { type Hello, PROTOCOL_VERSION } from '../shared/wire/handshake.js';
import { MAX_WS_MESSAGE } from '../shared/wire/limits.js';
import { encodeMessage } from '../shared/wire/messages.js';

const HEARTBEAT_MS = 10_000;
const MAX_RETRY_WAIT_MS = 2000;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** No agent connected for this long: the gateway is stuck; say so (and keep trying). */
const STALL_MS = 20_000;
const VERSION = 'bench-load';

export interface Planned {
  index: number;
  clusterId: string;
  enrollment: string;
  /** A fresh Ed25519 key, made before connecting. */
  key: AgentKeyPair;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

async function call<T>(api: string, token: string, method: string, path: string, body: unknown): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    if (attempt >= 3) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
  }
}

/**
 * A fresh Ed25519 key pair in tweetnacl's layout (secret key = seed ‖ public key), made with
 * node:crypto because tweetnacl needs ~5-10 ms of CPU per key here; signing still goes through
 * shared/identity.ts (tweetnacl), as the real agent does.
 */
function freshKey(): AgentKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d as string, 'base64url');
  const publicKey = Buffer.from(jwk.x as string, 'base64url');
  return {
    publicKey: new Uint8Array(publicKey),
    secretKey: new Uint8Array(Buffer.concat([seed, publicKey])),
  };
}

/** Clusters, enrollment tokens and keys for `count` agents, in index order. */
export async function prepare(api: string, token: string, count: number): Promise<Planned[]> {
  const planned: Planned[] = [];
  const started = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (index) => {
      const cluster = await call<{ id: string }>(api, token, 'POST', '/api/v1/clusters', {
        name: `load-${index}-${Date.now()}`,
        allowed_targets: [],
      });
      const issued = await call<{ token: string }>(
        api,
        token,
        'POST',
        `/api/v1/clusters/${cluster.id}/agent_tokens`,
        {},
      );
      planned.push({ index, clusterId: cluster.id, enrollment: issued.token, key: freshKey() });
    },
  );
  planned.sort((a, b) => a.index - b.index);
  process.stdout.write(`prepared ${planned.length} ${Math.round(performance.now() - started)}\n`);
  return planned;
}

/**
 * Commands on stdin, one a line; the process exits when stdin closes or on SIGTERM. Returns a
 * function resolving with the next line whose first word is `command` (lines are queued until
 * asked for), and calls `handle` for every line as it comes.
 */
export function commands(handle: (line: string) => void = () => {}): (command: string) => Promise<string> {
  const lines = createInterface({ input: process.stdin });
  const queued: string[] = [];
  const waiting: Array<{ command: string; resolve: (line: string) => void }> = [];
  lines.on('line', (raw) => {
    const line = raw.trim();
    handle(line);
    const word = line.split(' ')[0];
    const waiter = waiting.findIndex((w) => w.command === word);
    if (waiter === -1) queued.push(line);
    else waiting.splice(waiter, 1)[0]?.resolve(line);
  });
  lines.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  return (command) =>
    new Promise((resolve) => {
      const index = queued.findIndex((line) => line.split(' ')[0] === command);
      if (index === -1) waiting.push({ command, resolve });
      else resolve(queued.splice(index, 1)[0] as string);
    });
}

export class Refused extends Error {
  constructor(readonly retryAfterMs: number) {
    super('503');
  }
}

let closedSessions = 0;

/**
 * One agent's connection, from the upgrade to the welcome and its control stream. `enroll`
 * sends the enrollment token (the first connection); an agent that enrolled shows its key alone.
 */
export function connectOnce(
  wsBase: string,
  agent: Planned,
  onControl: (control: MuxStream, agent: Planned) => void,
  enroll = true,
): Promise<Session> {
  const { key } = agent;
  const publicKey = Buffer.from(key.publicKey).toString('base64');
  const ws = new WebSocket(`${wsBase}/agent_api/${agent.clusterId}`, {
    perMessageDeflate: false,
    maxPayload: MAX_WS_MESSAGE,
    headers: { 'user-agent': `commander-agent/${VERSION}` },
  });
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error('handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    ws.on('unexpected-response', (_request, response) => {
      const retryAfter = Number(response.headers['retry-after']);
      fail(
        response.statusCode === 503
          ? new Refused(Number.isFinite(retryAfter) ? retryAfter * 1000 : 1000)
          : new Error(`HTTP ${response.statusCode}`),
      );
    });
    ws.on('error', (error) => fail(error));
    ws.on('close', (code, reason) => fail(new Error(`closed: ${code} ${reason.toString()}`)));
    const onMessage = (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      if (message.type === 'challenge') {
        const hello: Hello = {
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          cluster_id: agent.clusterId,
          public_key: publicKey,
          signature: signChallenge(key, agent.clusterId, message.nonce as string),
          agent_version: VERSION,
          heartbeat_interval: HEARTBEAT_MS,
          ...(enroll ? { enrollment_token: agent.enrollment } : {}),
        };
        ws.send(Buffer.from(JSON.stringify(hello)));
      } else if (message.type === 'welcome') {
        done = true;
        clearTimeout(timer);
        ws.off('message', onMessage);
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => {});
        const session = sessionOverWebSocket(ws, true, {
          keepaliveInterval: HEARTBEAT_MS,
          keepaliveTimeout: HEARTBEAT_MS,
        });
        const control = session.open({ priority: true });
        control.on('error', () => {});
        control.write(encodeMessage({ type: 'status', agent_version: VERSION, allow: [] }));
        const heartbeats = setInterval(
          () => control.write(encodeMessage({ type: 'heartbeat', time: new Date().toISOString() })),
          HEARTBEAT_MS,
        );
        session.on('close', (reason) => {
          clearInterval(heartbeats);
          closedSessions += 1;
          if (closedSessions <= 5)
            process.stderr.write(`load: session of ${agent.clusterId} closed: ${reason?.message ?? ''}\n`);
        });
        onControl(control, agent);
        resolve(session);
      } else {
        fail(new Error(`refused: ${JSON.stringify(message)}`));
      }
    };
    ws.on('message', onMessage);
  });
}

/** Connects every planned agent (see the header); resolves once each connected or gave up. */
export async function connectAll(
  api: string,
  planned: Planned[],
  concurrency: number,
  onControl: (control: MuxStream, agent: Planned) => void = () => {},
): Promise<Session[]> {
  const wsBase = api.replace(/^http/, 'ws');
  const sessions: Session[] = [];
  let refused503 = 0;
  let failures = 0;
  let connected = 0;
  const started = performance.now();
  let lastProgress = performance.now();
  let lastConnected = 0;
  const watchdog = setInterval(() => {
    if (connected !== lastConnected) {
      lastConnected = connected;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > STALL_MS) {
      process.stdout.write(
        `stalled ${connected} ${Math.round(performance.now() - started)} ${refused503} ${failures}\n`,
      );
      clearInterval(watchdog);
    }
  }, 1000);
  await pool(planned, concurrency, async (agent) => {
    for (let attempt = 0; ; attempt++) {
      try {
        sessions.push(await connectOnce(wsBase, agent, onControl));
        connected += 1;
        if (connected % 100 === 0) process.stdout.write(`connected ${connected}\n`);
        return;
      } catch (error) {
        if (error instanceof Refused) {
          refused503 += 1;
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(error.retryAfterMs, MAX_RETRY_WAIT_MS)),
          );
        } else {
          failures += 1;
          if (failures <= 5) process.stderr.write(`load: ${agent.clusterId}: ${(error as Error).message}\n`);
          if (attempt >= 3) return;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  });
  clearInterval(watchdog);
  process.stdout.write(
    `done ${connected} ${Math.round(performance.now() - started)} ${refused503} ${failures}\n`,
  );
  return sessions;
}
