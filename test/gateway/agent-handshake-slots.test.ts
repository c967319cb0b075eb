// Sockets that upgrade to the agent endpoint and never say hello cost the attacker nothing but a
// connection; they must not keep real agents out. Real sockets, a real gateway, a real handshake.
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectRawAgent } from '../support/raw-agent.js';
import { openSocket, upgradeRequest } from '../support/raw-http.js';

/** An upgrade that never sends a hello; resolves with the socket once the gateway said 101. */
async function idleUpgrade(port: number, clusterId: string, localAddress: string): Promise<Socket | number> {
  const socket = await openSocket(port, localAddress);
  socket.on('error', () => {});
  socket.write(upgradeRequest(`/agent_api/${clusterId}`));
  return new Promise((resolve) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!status) return;
      socket.off('data', onData);
      // Keep reading (and dropping) what follows, like a client that is simply slow to answer.
      socket.resume();
      if (status[1] === '101') resolve(socket);
      else {
        socket.destroy();
        resolve(Number(status[1]));
      }
    };
    socket.on('data', onData);
    socket.on('close', () => resolve(0));
  });
}

describe('agent handshake slots', () => {
  let gw: TestGateway;
  let port: number;
  let clusterId: string;
  let enrollmentToken: string;
  const attackers = new Set<Socket>();
  let stopReopening = false;

  beforeAll(async () => {
    gw = await startTestGateway();
    port = Number(new URL(gw.url).port);
    const operator = await gw.token('operator');
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'slots' },
    });
    clusterId = created.body.id;
    const issued = await gw.request('POST', `/api/v1/clusters/${clusterId}/agent_tokens`, {
      token: operator,
      body: {},
    });
    enrollmentToken = issued.body.token;
  });

  afterAll(async () => {
    stopReopening = true;
    for (const socket of attackers) socket.destroy();
    await gw?.close();
  });

  /** Opens one idle upgrade (for this cluster or another), and again whenever it is closed. */
  const attack = async (target: string): Promise<number> => {
    const outcome = await idleUpgrade(port, target, '127.0.0.2');
    if (typeof outcome === 'number') return outcome;
    attackers.add(outcome);
    outcome.on('close', () => {
      attackers.delete(outcome);
      if (!stopReopening) void attack(target).catch(() => {});
    });
    return 101;
  };

  it('lets a real agent in while more than 1,000 idle upgrades are held open and reopened', async () => {
    const other = '00000000-0000-4000-8000-000000000001';
    const statuses: number[] = [];
    for (let batch = 0; batch < 11; batch += 1) {
      const targets = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? clusterId : other));
      statuses.push(...(await Promise.all(targets.map(attack))));
    }
    const agent = await connectRawAgent(gw.url, clusterId, { enrollmentToken });
    expect(attackers.size).toBeGreaterThan(512);
    // Every idle upgrade got its challenge too: none was refused outright.
    expect(statuses.filter((status) => status !== 101)).toEqual([]);
    agent.send({ type: 'heartbeat', time: new Date().toISOString() });
    const [row] = await gw.db.sql<{ agent_status: string }[]>`
      select agent_status from clusters where id = ${clusterId}`;
    expect(row?.agent_status).toBe('connected');
    agent.close();
  });
});
