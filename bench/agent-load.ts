// Many agents in one process, speaking the real protocol to one gateway (for agents-idle).
//   node dist/bench/agent-load.js <gateway url> <admin token> <count> <concurrency>
// 1. Creates <count> clusters and one enrollment token each through the API and a fresh Ed25519
//    key per agent; prints `prepared <n> <ms>`.
// 2. Waits for the line `connect` on stdin, then connects every agent, at most <concurrency>
//    handshakes at a time: WebSocket to /agent_api/<id>, challenge → hello (its key, signature,
//    enrollment token) → welcome, then a client mux session with the control stream, a status
//    message and a heartbeat every 10 s, as the real agent does. A 503 (load shedding) is retried
//    after its Retry-After, capped at MAX_RETRY_WAIT_MS so the bench stays short.
//    Prints `connected <n>` every 100 and `done <connected> <ms> <refused_503> <other_failures>`.
// 3. Holds the sessions until SIGTERM or stdin closes.
import { generateKeyPairSync } from 'node:crypto';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { type AgentKeyPair, signChallenge } from '../shared/identity.js';
import type { Session } from '../shared/mux/session.js';
import { sessionOverWebSocket } from '../shared/mux/transports.js';
import { type Hello, PROTOCOL_VERSION } from '../shared/wire/handshake.js';
import { encodeMessage } from '../shared/wire/messages.js';

const HEARTBEAT_MS = 10_000;
const MAX_RETRY_WAIT_MS = 2000;
const HANDSHAKE_TIMEOUT_MS = 30_000;
const VERSION = 'bench-load';

const [api, token, countText, concurrencyText] = process.argv.slice(2) as [string, string, string, string];
const count = Number(countText);
const concurrency = Number(concurrencyText);

async function call<T>(method: string, path: string, body: unknown): Promise<T> {
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

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
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

interface Planned {
  clusterId: string;
  enrollment: string;
  /** A fresh Ed25519 key, made before connecting. */
  key: AgentKeyPair;
}

const planned: Planned[] = [];
const prepareStarted = performance.now();
await pool(
  Array.from({ length: count }, (_, i) => i),
  8,
  async (i) => {
    const cluster = await call<{ id: string }>('POST', '/api/v1/clusters', {
      name: `load-${i}-${Date.now()}`,
      allowed_targets: [],
    });
    const issued = await call<{ token: string }>('POST', `/api/v1/clusters/${cluster.id}/agent_tokens`, {});
    planned.push({ clusterId: cluster.id, enrollment: issued.token, key: freshKey() });
  },
);
process.stdout.write(`prepared ${planned.length} ${Math.round(performance.now() - prepareStarted)}\n`);

const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => {
  lines.on('line', (line) => {
    if (line.trim() === 'connect') resolve();
  });
});
lines.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

class Refused extends Error {
  constructor(readonly retryAfterMs: number) {
    super('503');
  }
}

const sessions: Session[] = [];
let refused503 = 0;
let failures = 0;
let connected = 0;
let closedSessions = 0;
const wsBase = api.replace(/^http/, 'ws');

function connectOnce(agent: Planned): Promise<void> {
  const { key } = agent;
  const publicKey = Buffer.from(key.publicKey).toString('base64');
  const ws = new WebSocket(`${wsBase}/agent_api/${agent.clusterId}`, {
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
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
          enrollment_token: agent.enrollment,
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
            process.stderr.write(
              `agent-load: session of ${agent.clusterId} closed: ${reason?.message ?? ''}\n`,
            );
        });
        sessions.push(session);
        resolve();
      } else {
        fail(new Error(`refused: ${JSON.stringify(message)}`));
      }
    };
    ws.on('message', onMessage);
  });
}

const started = performance.now();
// No agent connected for STALL_MS: the gateway is stuck; say so and stop trying.
const STALL_MS = 20_000;
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
      await connectOnce(agent);
      connected += 1;
      if (connected % 100 === 0) process.stdout.write(`connected ${connected}\n`);
      return;
    } catch (error) {
      if (error instanceof Refused) {
        refused503 += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(error.retryAfterMs, MAX_RETRY_WAIT_MS)));
      } else {
        failures += 1;
        if (failures <= 5)
          process.stderr.write(`agent-load: ${agent.clusterId}: ${(error as Error).message}\n`);
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
