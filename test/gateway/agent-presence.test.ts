// What the database says about an agent's connection when writing it fails: the failure is
// logged, and the disconnect is written again until it sticks (a cluster must not stay
// "connected" because one write failed). A real endpoint, real sockets, real PostgreSQL.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AgentEndpoint } from '../../gateway/agent-endpoint.js';
import { ControlMetrics } from '../../gateway/control.js';
import { TelemetryWriter } from '../../gateway/telemetry.js';
import { Encryptor } from '../../shared/crypto.js';
import { generateAgentKey } from '../../shared/identity.js';
import { createLogger } from '../../shared/logger.js';
import { ensureWorkspace } from '../../shared/workspaces.js';
import { eventually } from '../e2e/agent-stack.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';
import { testKeys } from '../support/keys.js';
import { connectRawAgent } from '../support/raw-agent.js';

describe('agent presence in the database', () => {
  let db: TestDatabase;
  let endpoint: AgentEndpoint;
  let server: Server;
  let url: string;
  const lines: Record<string, any>[] = [];
  const logged = (msg: string) => lines.filter((line) => line.msg === msg);

  beforeAll(async () => {
    db = await freshDatabase();
    const logger = createLogger('debug', 'test', {
      write: (line: string) => {
        lines.push(JSON.parse(line));
      },
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
    endpoint = new AgentEndpoint({
      sql: db.sql,
      encryptor: await Encryptor.create(testKeys()),
      controlMetrics: new ControlMetrics(new Registry()),
      telemetry: new TelemetryWriter(db.sql, logger, 30),
      wss,
      logger,
      replicaId: 'presence-test',
      lastSeenEveryMs: 100,
    });
    await endpoint.start();
    server = createServer();
    server.on('upgrade', (request, socket, head) => {
      const id = /^\/agent_api\/([^/]+)$/.exec(request.url ?? '')?.[1] ?? '';
      endpoint.handleUpgrade(request, socket, head, id);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await endpoint?.stop();
    server?.close();
    await db?.drop();
  });

  /** A cluster with an enrolled key, as enrollment leaves it. */
  const enrolledCluster = async () => {
    const workspace = await ensureWorkspace(db.sql, 'presence');
    const [cluster] = await db.sql<{ id: string }[]>`
      insert into clusters (workspace_id, name) values (${workspace.id}, ${`c${lines.length}-${Date.now()}`})
      returning id`;
    const key = generateAgentKey();
    await db.sql`insert into agents (cluster_id, public_key)
      values (${cluster?.id as string}, ${Buffer.from(key.publicKey).toString('base64')})`;
    return { id: cluster?.id as string, key };
  };
  const status = async (id: string) =>
    (await db.sql<{ agent_status: string }[]>`select agent_status from clusters where id = ${id}`)[0]
      ?.agent_status;
  /** Makes every update of the cluster's row that matches `condition` fail, until removed. */
  const failUpdates = async (id: string, condition: string) => {
    await db.sql.unsafe(`create or replace function presence_test_fail() returns trigger language plpgsql as $$
      begin raise exception 'presence test: updates fail'; end $$`);
    await db.sql.unsafe(`create trigger presence_test_fail before update on clusters for each row
      when (new.id = '${id}' and ${condition}) execute function presence_test_fail()`);
    return () => db.sql.unsafe('drop trigger presence_test_fail on clusters');
  };

  it('writes a disconnect again until it sticks, and says why it did not', async () => {
    const cluster = await enrolledCluster();
    const agent = await connectRawAgent(url, cluster.id, { key: cluster.key });
    expect(await status(cluster.id)).toBe('connected');
    const restore = await failUpdates(cluster.id, "new.agent_status = 'disconnected'");
    agent.close();
    await eventually('the failed write logged', () =>
      logged('could not record the disconnect; trying again later').length > 0 ? true : undefined,
    );
    expect(await status(cluster.id)).toBe('connected');
    await restore();
    await eventually('the disconnect written', async () =>
      (await status(cluster.id)) === 'disconnected' ? true : undefined,
    );
  });

  it('logs a failed refresh of last_seen_at', async () => {
    const cluster = await enrolledCluster();
    const agent = await connectRawAgent(url, cluster.id, { key: cluster.key });
    const restore = await failUpdates(cluster.id, 'new.last_seen_at is distinct from old.last_seen_at');
    try {
      const line = await eventually(
        'the failed refresh logged',
        () => logged('could not refresh last_seen_at')[0],
      );
      expect(line.err.message).toMatch(/presence test: updates fail/);
    } finally {
      await restore();
      agent.close();
    }
  });

  it("keeps a session when an older session's notification arrives after it", async () => {
    const cluster = await enrolledCluster();
    const agent = await connectRawAgent(url, cluster.id, { key: cluster.key });
    let wentAway = false;
    agent.session.on('goaway', () => {
      wentAway = true;
    });
    // What the previous session's acceptance sent, delivered late; then a nudge behind it, on the
    // same listening connection, so it arrives after the stale notification was handled.
    await db.sql`select pg_notify('commander_agent_session', ${JSON.stringify({ cluster_id: cluster.id, session_id: randomUUID() })})`;
    await db.sql`select pg_notify('commander_revision', ${`${cluster.id}:7`})`;
    await agent.waitFor((message) => message.type === 'nudge' && message.revision === 7);
    await agent.session.ping();
    expect(wentAway).toBe(false);
    expect(agent.session.closed).toBe(false);

    // A newer session does replace it.
    const replaced = agent.closed;
    const newer = await connectRawAgent(url, cluster.id, { key: cluster.key });
    await replaced;
    expect(wentAway).toBe(true);
    newer.close();
  });
});
