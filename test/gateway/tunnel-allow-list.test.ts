// The tunnel side of allowed_targets: an entry stored in the database that the target parser
// rejects (written before the API checked it, or by hand) denies only what it would have
// allowed; the cluster's other entries keep working, and nothing answers 500.
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../gateway/auth.js';
import { Invalidations } from '../../gateway/cache.js';
import { TunnelAccess } from '../../gateway/tunnel-access.js';
import { createLogger } from '../../shared/logger.js';
import type { MuxStream } from '../../shared/mux/stream.js';
import { openTunnel, TunnelClient, TunnelClientError } from '../../shared/tunnel-client.js';
import { encodeMessage, readFirstMessage } from '../../shared/wire/messages.js';
import { rawTunnelUpgrade } from '../e2e/agent-stack.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectRawAgent, type RawAgent } from '../support/raw-agent.js';
import { roundTrip } from '../support/tcp.js';

/** Accepts every dial and echoes the stream's bytes back. */
async function echoTunnel(stream: MuxStream): Promise<void> {
  stream.on('error', () => {});
  const { rest } = await readFirstMessage(stream);
  stream.write(encodeMessage({ ok: true }));
  if (rest.length > 0) stream.write(rest);
  stream.pipe(stream);
}

describe('tunnel allow-list from the database', () => {
  let gw: TestGateway;
  let operator: string;
  let clusterId: string;
  let agent: RawAgent;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator');
    const created = await gw.request('POST', '/api/v1/clusters', {
      token: operator,
      body: { name: 'allow-list', allowed_targets: ['db.internal:5432'] },
    });
    expect(created.status, created.text).toBe(201);
    clusterId = created.body.id;
    // Entries the tunnel's parser rejects, stored as an older gateway (or a person) left them.
    await gw.db.sql`update clusters
      set allowed_targets = array['_ssh:22', '10.0.0.0/33:22', 'db/8:22', 'db.internal:5432']
      where id = ${clusterId}`;
    const issued = await gw.request('POST', `/api/v1/clusters/${clusterId}/agent_tokens`, {
      token: operator,
      body: {},
    });
    agent = await connectRawAgent(gw.url, clusterId, {
      enrollmentToken: issued.body.token,
      onTunnel: (stream) => void echoTunnel(stream).catch(() => stream.destroy()),
    });
  });

  afterAll(async () => {
    agent?.close();
    await gw?.close();
  });

  it('opens tunnels to the good entries', async () => {
    const tunnel = await openTunnel({ api: gw.url, token: operator, clusterId, target: 'db.internal:5432' });
    expect(await roundTrip(tunnel, 'hello')).toBe('hello');
    const client = new TunnelClient({ api: gw.url, token: operator, clusterId });
    try {
      const stream = await client.open('db.internal:5432');
      expect(await roundTrip(stream, 'again')).toBe('again');
    } finally {
      client.close();
    }
  });

  it('refuses what only a bad entry names with target_not_allowed, its code said once', async () => {
    for (const target of ['10.0.0.1:22', '_ssh:22', 'db:22']) {
      const wire = await rawTunnelUpgrade(gw.url, operator, clusterId, target);
      if (target === '_ssh:22') {
        // Not a target at all: the caller's mistake.
        expect({ target, status: wire.status, code: wire.code }).toEqual({
          target,
          status: 400,
          code: 'VALIDATION_FAILED',
        });
        continue;
      }
      expect({ target, status: wire.status, code: wire.code }).toEqual({
        target,
        status: 403,
        code: 'TARGET_NOT_ALLOWED',
      });
      expect(wire.message).toMatch(/allowed_targets/);
      expect(wire.message).not.toMatch(/target_not_allowed/);

      const error = await openTunnel({ api: gw.url, token: operator, clusterId, target }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TunnelClientError);
      expect((error as TunnelClientError).code).toBe('target_not_allowed');
      expect((error as TunnelClientError).message).not.toMatch(/target_not_allowed/);
    }
    const client = new TunnelClient({ api: gw.url, token: operator, clusterId });
    try {
      const error = await client.open('10.0.0.1:22').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as TunnelClientError).code).toBe('target_not_allowed');
      expect((error as TunnelClientError).message).not.toMatch(/target_not_allowed/);
    } finally {
      client.close();
    }
  });

  it('logs each entry that does not parse once, however often the cluster is loaded again', async () => {
    const lines: Record<string, any>[] = [];
    const logger = createLogger('info', 'test', {
      write: (line: string) => void lines.push(JSON.parse(line)),
    });
    const invalidations = new Invalidations();
    const access = new TunnelAccess(
      gw.db.sql,
      createAuthenticator(gw.db.sql, invalidations),
      logger,
      invalidations,
    );
    const request = { headers: { 'x-auth-token': operator }, socket: {} } as unknown as IncomingMessage;
    for (let load = 0; load < 3; load += 1) {
      const { cluster } = await access.authorize(request, clusterId);
      expect(cluster.allowedTargets.map((entry) => entry.text)).toEqual(['db.internal:5432']);
      // The row changed (as far as the cache knows): the next call loads it again.
      invalidations.publish({ table: 'clusters', id: clusterId });
    }
    const warned = lines.filter(
      (line) => line.msg === 'an allowed_targets entry does not parse; it allows nothing',
    );
    expect(warned.map((line) => line.entry)).toEqual(['_ssh:22', '10.0.0.0/33:22', 'db/8:22']);
  });
});
