// Agent identity end to end: single-use, expiring enrollment tokens; a key enrolled for one
// cluster is useless for another; a captured handshake cannot be replayed; revocation closes
// the live session at once and keeps the agent out until it is enrolled again (the refused
// agent stops; agent-refusals.test.ts covers each refusal's exit code).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AgentKeyPair, signChallenge } from '../../shared/identity.js';
import { openTunnel } from '../../shared/tunnel-client.js';
import { PROTOCOL_VERSION } from '../../shared/wire/handshake.js';
import { ECHO_TRAILER, echoServer, roundTrip, type TestServer } from '../support/tcp.js';
import { type AgentInstance, AgentStack, eventually, logged, waitForLog } from './agent-stack.js';
import { api } from './helpers.js';

interface StoredKey {
  cluster_id: string;
  public_key: string;
  secret_key: string;
}

function storedKey(stateDir: string): StoredKey {
  return JSON.parse(readFileSync(join(stateDir, 'agent-key.json'), 'utf8')) as StoredKey;
}

function keyPair(stored: StoredKey): AgentKeyPair {
  return {
    publicKey: Buffer.from(stored.public_key, 'base64'),
    secretKey: Buffer.from(stored.secret_key, 'base64'),
  };
}

interface HandshakeOutcome {
  nonce: string;
  /** The hello exactly as sent. */
  sent: Buffer;
  /** The gateway's answer: welcome or error. */
  reply: Record<string, any>;
  /** The WebSocket close code, when the gateway closed the connection. */
  closeCode?: number;
}

/**
 * Speaks the agent handshake by hand: waits for the challenge, sends what `hello` makes of its
 * nonce, and reports the gateway's answer and close code. Closes the connection itself after a
 * welcome.
 */
function handshake(url: string, hello: (nonce: string) => Buffer): Promise<HandshakeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let nonce = '';
    let sent: Buffer = Buffer.alloc(0);
    let reply: Record<string, any> | undefined;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`handshake with ${url} did not finish; reply ${JSON.stringify(reply)}`));
    }, 10_000);
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Record<string, any>;
      if (!nonce) {
        if (message.type !== 'challenge' || typeof message.nonce !== 'string') {
          clearTimeout(timer);
          ws.terminate();
          reject(new Error(`expected a challenge, got ${JSON.stringify(message)}`));
          return;
        }
        nonce = message.nonce;
        sent = hello(nonce);
        ws.send(sent, { binary: true });
        return;
      }
      if (reply) return; // mux frames after a welcome
      reply = message;
      if (message.type === 'welcome') ws.close(1000);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (!reply) reject(new Error(`closed (${code}) without an answer to the hello`));
      else resolve({ nonce, sent, reply, closeCode: code });
    });
  });
}

function helloBytes(key: AgentKeyPair, clusterId: string, nonce: string, signFor = clusterId): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      cluster_id: clusterId,
      public_key: Buffer.from(key.publicKey).toString('base64'),
      signature: signChallenge(key, signFor, nonce),
      agent_version: 'e2e-test',
      heartbeat_interval: 10_000,
    }),
  );
}

describe('agent identity', () => {
  let stack: AgentStack;
  let echo: TestServer;
  let clusterA: string;
  let clusterB: string;
  let agentA: AgentInstance;
  let agentB: AgentInstance;
  const allow = () => [`127.0.0.1:${echo.port}`];
  const wsUrl = (clusterId: string) => `${stack.gateway.url.replace('http:', 'ws:')}/agent_api/${clusterId}`;
  const gatewayLog = (msg: string, clusterId: string) =>
    logged(stack.gateway.command, msg, { cluster_id: clusterId });
  /** A round trip to the echo server through the cluster's agent. */
  const echoVia = async (clusterId: string, text: string) => {
    const tunnel = await openTunnel({
      api: stack.gateway.url,
      token: stack.operator,
      clusterId,
      target: allow()[0] as string,
    });
    return roundTrip(tunnel, text);
  };

  beforeAll(async () => {
    [stack, echo] = await Promise.all([AgentStack.start(), echoServer()]);
    clusterA = await stack.createCluster(allow());
    clusterB = await stack.createCluster(allow());
  });

  afterAll(async () => {
    await stack?.close();
    await echo?.close();
  });

  it('enrolls one agent per token: a second agent with the same token is refused', async () => {
    const { token, commanderUrl } = await stack.enrollmentToken(clusterA);
    const tokenFile = stack.writeFile('token-a', token);
    agentA = await stack.startAgent(clusterA, { allow: allow(), tokenFile, url: commanderUrl });
    await waitForLog(agentA.command, 'enrolled this agent key with the gateway');
    await stack.waitForAgentStatus(clusterA, 'connected');

    const refusedBefore = gatewayLog('agent refused', clusterA).length;
    const second = await stack.startAgent(clusterA, { allow: allow(), tokenFile, wait: false });
    const refused = await waitForLog(stack.gateway.command, 'agent refused', {
      count: refusedBefore + 1,
      fields: { cluster_id: clusterA },
    });
    expect(refused.code).toBe('unauthorized');
    expect(refused.reason).toMatch(/already used/);
    // A spent token cannot become good by waiting: the agent stops (exit 4, README).
    expect(await second.command.exited).toBe(4);
    expect(second.command.stderr()).toMatch(/refused the enrollment token \(.*already used/);
    expect(logged(second.command, 'connected to the gateway')).toHaveLength(0);
    expect(logged(second.command, 'enrolled this agent key with the gateway')).toHaveLength(0);

    // The first agent kept its enrollment and its session: the session it opened carries a
    // tunnel made after the refusals.
    expect(await echoVia(clusterA, 'first')).toBe(`first${ECHO_TRAILER.toString()}`);
    expect(logged(agentA.command, 'connected to the gateway')).toHaveLength(1);
    expect(logged(agentA.command, 'disconnected from the gateway')).toHaveLength(0);
    const [row] = await stack.db.sql<{ public_key: string }[]>`
      select public_key from agents where cluster_id = ${clusterA}`;
    expect(row?.public_key).toBe(storedKey(agentA.stateDir).public_key);
    expect(storedKey(second.stateDir).public_key).not.toBe(row?.public_key);
    expect(gatewayLog('agent connected', clusterA)).toHaveLength(1);
    expect(gatewayLog('agent disconnected', clusterA)).toHaveLength(0);
    expect(await stack.agentStatus(clusterA)).toBe('connected');
  });

  it('refuses an expired enrollment token; with a fresh one in the same file the agent then enrolls', async () => {
    const { token } = await stack.enrollmentToken(clusterB);
    // expires_in is at least 60 s, so age this one in the database instead of waiting.
    const aged = await stack.db.sql`
      update agent_enrollment_tokens set expires_at = now() - interval '1 second'
      where cluster_id = ${clusterB} and used_at is null returning jti`;
    expect(aged).toHaveLength(1);
    const tokenFile = stack.writeFile('token-b', token);
    agentB = await stack.startAgent(clusterB, { allow: allow(), tokenFile, wait: false });
    const refused = await waitForLog(stack.gateway.command, 'agent refused', {
      fields: { cluster_id: clusterB },
    });
    expect(refused.code).toBe('unauthorized');
    expect(refused.reason).toMatch(/expired/);
    expect(await agentB.command.exited).toBe(4);
    expect(logged(agentB.command, 'connected to the gateway')).toHaveLength(0);
    expect(await stack.agentStatus(clusterB)).toBe('never_connected');
    const [enrolled] = await stack.db.sql`select 1 from agents where cluster_id = ${clusterB}`;
    expect(enrolled).toBeUndefined();

    // A fresh token written into the token file: the agent, started again, enrolls and connects.
    const fresh = await stack.enrollmentToken(clusterB);
    stack.writeFile('token-b', fresh.token);
    agentB = await stack.startAgent(clusterB, { allow: allow(), tokenFile, stateDir: agentB.stateDir });
    expect(logged(agentB.command, 'enrolled this agent key with the gateway')).toHaveLength(1);
    await stack.waitForAgentStatus(clusterB, 'connected');
  });

  it("refuses cluster A's key presented for cluster B", async () => {
    const keyA = keyPair(storedKey(agentA.stateDir));
    const disconnectsB = gatewayLog('agent disconnected', clusterB).length;

    // A's key, signing a correct challenge for B: the key is not B's.
    const forB = await handshake(wsUrl(clusterB), (nonce) => helloBytes(keyA, clusterB, nonce));
    expect(forB.reply).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(forB.closeCode).toBe(4003);

    // A's own hello (for A), sent to B's endpoint.
    const forA = await handshake(wsUrl(clusterB), (nonce) => helloBytes(keyA, clusterA, nonce));
    expect(forA.reply).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(forA.closeCode).toBe(4003);

    // B's own agent was not disturbed: its session (the one it opened, never another) still
    // carries a tunnel made after both refusals, and A's enrollment is unchanged.
    expect(await echoVia(clusterB, 'still there')).toBe(`still there${ECHO_TRAILER.toString()}`);
    expect(logged(agentB.command, 'connected to the gateway')).toHaveLength(1);
    expect(logged(agentB.command, 'disconnected from the gateway')).toHaveLength(0);
    expect(gatewayLog('agent disconnected', clusterB)).toHaveLength(disconnectsB);
    expect(await stack.agentStatus(clusterB)).toBe('connected');
    const [row] = await stack.db.sql<{ public_key: string }[]>`
      select public_key from agents where cluster_id = ${clusterB}`;
    expect(row?.public_key).toBe(storedKey(agentB.stateDir).public_key);
  });

  it('refuses a captured handshake replayed on a new connection', async () => {
    // Stop A's agent so the hand-made session does not fight it.
    await agentA.command.stop();
    await stack.waitForAgentStatus(clusterA, 'disconnected');
    const keyA = keyPair(storedKey(agentA.stateDir));

    const first = await handshake(wsUrl(clusterA), (nonce) => helloBytes(keyA, clusterA, nonce));
    expect(first.reply.type).toBe('welcome');

    const refusedBefore = gatewayLog('agent refused', clusterA).length;
    const replay = await handshake(wsUrl(clusterA), () => first.sent);
    expect(replay.nonce).not.toBe(first.nonce);
    expect(replay.reply).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(replay.closeCode).toBe(4003);
    const refused = await waitForLog(stack.gateway.command, 'agent refused', {
      count: refusedBefore + 1,
      fields: { cluster_id: clusterA },
    });
    expect(refused.reason).toMatch(/signature/);
  });

  it('revocation closes the live session; the agent stops, and is back once re-enrolled', async () => {
    // A's agent again, from its state dir: it is enrolled, its token file holds the used token.
    const restarted = await stack.startAgent(clusterA, {
      allow: allow(),
      stateDir: agentA.stateDir,
      tokenFile: agentA.tokenFile,
    });
    expect(logged(restarted.command, 'enrolled this agent key with the gateway')).toHaveLength(0);
    await stack.waitForAgentStatus(clusterA, 'connected');
    const disconnects = gatewayLog('agent disconnected', clusterA).length;
    const refusals = gatewayLog('agent refused', clusterA).length;

    const revoke = await api(stack.gateway.url, 'DELETE', `/api/v1/clusters/${clusterA}/agent`, {
      token: stack.operator,
    });
    expect(revoke.status, revoke.text).toBe(200);
    expect(revoke.body).toEqual({ revoked: true });

    // The gateway closed the live session because of the revocation (its close code says so),
    // not because the agent went quiet: it answers every ping, so nothing else would end it.
    await waitForLog(restarted.command, 'the gateway revoked this agent; enroll it again');
    await waitForLog(restarted.command, 'disconnected from the gateway');
    await waitForLog(stack.gateway.command, 'agent disconnected', {
      count: disconnects + 1,
      fields: { cluster_id: clusterA },
    });
    await stack.waitForAgentStatus(clusterA, 'disconnected');

    // It tries again, is refused as revoked, and stops (exit 6, README) saying what to do.
    const refused = await waitForLog(stack.gateway.command, 'agent refused', {
      count: refusals + 1,
      fields: { cluster_id: clusterA },
      timeoutMs: 5_000,
    });
    expect(refused.code).toBe('revoked');
    expect(await restarted.command.exited).toBe(6);
    expect(restarted.command.stderr()).toMatch(/revoked this agent's key/);
    expect(logged(restarted.command, 'connected to the gateway')).toHaveLength(1);
    expect(await stack.agentStatus(clusterA)).toBe('disconnected');
    const tunnelsRefused = await openTunnel({
      api: stack.gateway.url,
      token: stack.operator,
      clusterId: clusterA,
      target: allow()[0] as string,
    }).then(
      (tunnel) => {
        tunnel.destroy();
        return false;
      },
      () => true,
    );
    expect(tunnelsRefused).toBe(true);

    // A new enrollment token in its token file: started again, it enrolls its key again.
    const fresh = await stack.enrollmentToken(clusterA);
    stack.writeFile('token-a', fresh.token);
    const reenrolled = await stack.startAgent(clusterA, {
      allow: allow(),
      stateDir: agentA.stateDir,
      tokenFile: agentA.tokenFile,
    });
    expect(logged(reenrolled.command, 'enrolled this agent key with the gateway')).toHaveLength(1);
    await stack.waitForAgentStatus(clusterA, 'connected');
    const tunnel = await openTunnel({
      api: stack.gateway.url,
      token: stack.operator,
      clusterId: clusterA,
      target: allow()[0] as string,
    });
    const chunks: Buffer[] = [];
    tunnel.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => tunnel.on('end', resolve));
    tunnel.end('again');
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe(`again${ECHO_TRAILER.toString()}`);
    tunnel.destroy();
    await eventually('the revocation in the audit trail', async () => {
      const [row] = await stack.db.sql`
        select 1 from audit_records where auditable_type = 'Agent' and action = 'revoke' and auditable_id = ${clusterA}`;
      return row;
    });
  });
});
